// Starts `leaklint server` (LSP over stdio) for Python files, from the Python environment the user
// selected, and restarts it when that environment or leaklint's settings change.
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;

interface PythonEnvironments {
  getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
  resolveEnvironment(
    env: { path: string },
  ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
}

async function pythonEnvironments(): Promise<PythonEnvironments | undefined> {
  const extension = vscode.extensions.getExtension("ms-python.python");
  if (!extension) {
    return undefined;
  }
  const api = extension.isActive ? extension.exports : await extension.activate();
  return api?.environments as PythonEnvironments | undefined;
}

/** The interpreter of the Python extension's selected environment, if that extension is installed. */
async function selectedInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  const environments = await pythonEnvironments();
  if (!environments) {
    return undefined;
  }
  const active = environments.getActiveEnvironmentPath(resource);
  const resolved = await environments.resolveEnvironment(active);
  return resolved?.executable.uri?.fsPath ?? active.path;
}

/** `leaklint.path` if set, else `<interpreter> -m leaklint`, then `server` and `leaklint.args`. */
async function serverCommand(): Promise<{ command: string; args: string[] }> {
  const config = vscode.workspace.getConfiguration("leaklint");
  const path = config.get<string[]>("path", []);
  const extra = config.get<string[]>("args", []);
  if (path.length > 0) {
    return { command: path[0], args: [...path.slice(1), "server", ...extra] };
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const interpreter =
    config.get<string>("interpreter") || (await selectedInterpreter(folder)) || "python3";
  return { command: interpreter, args: ["-m", "leaklint", "server", ...extra] };
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const config = vscode.workspace.getConfiguration("leaklint");
  if (!config.get<boolean>("enable", true)) {
    return;
  }
  const { command, args } = await serverCommand();
  output = output ?? vscode.window.createOutputChannel("leaklint");
  output.appendLine(`starting: ${command} ${args.join(" ")}`);
  const serverOptions: ServerOptions = {
    run: { command, args },
    debug: { command, args },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file", language: "python" }],
    outputChannel: output,
    initializationOptions: { debounce: config.get<number>("debounce", 300) },
  };
  client = new LanguageClient("leaklint", "leaklint", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    void vscode.window.showErrorMessage(
      `leaklint: could not start \`${command} ${args.join(" ")}\` (install it with ` +
        `pip install "leaklint[lsp]" in the selected environment, or set leaklint.path): ${error}`,
    );
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const restart = async () => {
    await stop();
    await start(context);
  };
  context.subscriptions.push(
    vscode.commands.registerCommand("leaklint.restart", restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("leaklint")) {
        void restart();
      }
    }),
  );
  const environments = await pythonEnvironments();
  if (environments?.onDidChangeActiveEnvironmentPath) {
    context.subscriptions.push(environments.onDidChangeActiveEnvironmentPath(() => void restart()));
  }
  await start(context);
}

export async function deactivate(): Promise<void> {
  await stop();
}
