import { defineCommand } from "./command.ts";
import { INSTALL_FLAGS, installTarget, runUninstall } from "./install.ts";

export const uninstallCommand = defineCommand({
  name: "uninstall",
  summary: "(root) stop and remove what install put in place; --purge also data, env and user",
  help: `Usage: eft-footprint uninstall [--purge] [--prefix <root>]

Stops and disables the units (consume@ instances too), removes them and the binary. Keeps
/etc/eft-footprint/env, /var/lib/eft-footprint, /var/log/eft-footprint and the user unless --purge.

  --purge          also remove the env file, the data and log directories and the user
  --prefix <root>  as for install
`,
  options: INSTALL_FLAGS,
  async run({ values }) {
    runUninstall({ ...installTarget("uninstall", values.prefix), purge: Boolean(values.purge) });
    return 0;
  },
});
