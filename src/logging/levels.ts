// The log levels of the original (Python logging plus TRACE), and 99 for "off".
export const LEVELS = {
  trace: 5,
  debug: 10,
  info: 20,
  warning: 30,
  error: 40,
  critical: 50,
} as const;

export type LevelName = keyof typeof LEVELS;
export const LEVEL_OFF = 99;
export const SUPPORTED_LEVELS: readonly number[] = [...Object.values(LEVELS), LEVEL_OFF];

export function levelLabel(level: number): string {
  for (const [name, value] of Object.entries(LEVELS)) if (value === level) return name.toUpperCase();
  return String(level);
}
