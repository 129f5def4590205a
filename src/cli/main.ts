// The `k8smgr` command.
import { parseArgs } from 'node:util';
import { serve, demoCurl } from './serve.js';
import { userPassVariable } from '../config/env.js';

const HELP = `k8smgr: start, poll and stop users' services on Kubernetes for JupyterHub

Usage:
  k8smgr serve [--demo-credential NAME]   run the REST service (config from CONFIG_PATH)
  k8smgr render --credential C --service TYPE/OPTION --user-id N [--servername S] [--start-id I] [--server-dry-run]
                                          print the manifests a start would apply
  k8smgr user add|list|remove|set-groups|token ...
                                          manage the hubs' credentials (k8smgr user --help)
  k8smgr flavors import FILE --credential NAME ...
                                          a JupyterHub Outpost's flavors.yaml as config.json's flavors (k8smgr flavors --help)
  k8smgr --help

Environment: CONFIG_PATH, STAGE, DEPLOYMENT_NAME, DEPLOYMENT_NAMESPACE, KUBECONFIG,
SSHCONFIGFILE, <CREDENTIAL>_USER_PASS, HOST, PORT (see docs/configuration.md).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { 'demo-credential': { type: 'string' } } });
      const running = await serve();
      if (values['demo-credential']) {
        const variable = userPassVariable(values['demo-credential']);
        console.log(
          `\nK8s Manager is running at ${running.url}\nTry (${variable} holds the password; \`npm run demo\` sets it to "demo" unless you did):\n` +
            `${demoCurl(running.url, values['demo-credential'])}\n`,
        );
      }
      await new Promise<void>((resolve) => {
        const stop = () => void running.close().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      return 0;
    }
    case 'render': {
      const { runRender } = await import('./render.js');
      return runRender(rest);
    }
    case 'flavors': {
      const { runFlavorsCli } = await import('./flavors.js');
      return runFlavorsCli(rest);
    }
    case 'user': {
      const { runUserCli } = await import('./user-main.js');
      return runUserCli(rest);
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(HELP);
      return 0;
    default:
      console.error(`unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`k8smgr: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
