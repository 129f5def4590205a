// When a local process started, from Linux's /proc (boot time + the process's
// start in clock ticks): the time an SSH control master was last (re)started,
// since the master is an ssh process of this manager. Undefined where /proc
// cannot tell (not Linux, the process is gone).
import { readFile } from 'node:fs/promises';

/** USER_HZ: the unit of /proc/<pid>/stat's starttime; 100 on every Linux architecture in use. */
const CLOCK_TICKS = 100;

export async function processStartTime(pid: number, proc = '/proc'): Promise<string | undefined> {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const [stat, system] = await Promise.all([readFile(`${proc}/${pid}/stat`, 'utf8'), readFile(`${proc}/stat`, 'utf8')]);
    // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 of the whole line
    const boot = Number(/^btime (\d+)$/m.exec(system)?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(boot)) return undefined;
    return new Date((boot + ticks / CLOCK_TICKS) * 1000).toISOString();
  } catch {
    return undefined;
  }
}
