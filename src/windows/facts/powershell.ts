/** Windows facts: Windows PowerShell 5.1. Each states its Microsoft source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

/**
 * PowerShell remoting over SSH (`New-PSSession -HostName`) exists from PowerShell 6: Windows
 * PowerShell 5.1 has no such parameter. A `pwsh+ssh://` target is therefore always driven from
 * PowerShell 7 (`pwsh`), on Windows controllers too, where the default PowerShell is 5.1.
 */
export const SSH_REMOTING_MIN_MAJOR = defineFact({
  id: 'powershell.ssh-remoting-min-version',
  topic: 'Windows PowerShell 5.1',
  statement: 'PowerShell remoting over SSH (New-PSSession -HostName) needs PowerShell 6 or later on both sides: pwsh+ssh:// targets are driven from pwsh, never from powershell.exe',
  value: 6,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'PowerShell remoting over SSH',
      url: 'https://learn.microsoft.com/powershell/scripting/security/remoting/ssh-remoting-in-powershell',
      quote: 'PowerShell 6 or higher, and SSH must be installed on all computers.',
    },
  ],
});

/**
 * How a Windows program splits its command line into arguments: the resume task's arguments (and the
 * agent's native commands) are quoted for it — backslashes doubled where a quotation mark follows them,
 * including the closing one, so that `C:\state\` stays `C:\state\`.
 */
export const COMMAND_LINE_RULES = defineFact({
  id: 'powershell.command-line-quoting',
  topic: 'Windows PowerShell 5.1',
  statement: 'a command line is split by the CommandLineToArgvW rules: backslashes are literal unless a quotation mark follows them, so an argument ending in \\ gets its trailing backslashes doubled inside its quotes',
  value: 'CommandLineToArgvW',
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'CommandLineToArgvW function (shellapi.h)',
      url: 'https://learn.microsoft.com/windows/win32/api/shellapi/nf-shellapi-commandlinetoargvw',
      quote: '2n backslashes followed by a quotation mark produce n backslashes followed by begin/end quote.',
    },
    {
      title: 'CommandLineToArgvW function (shellapi.h)',
      url: 'https://learn.microsoft.com/windows/win32/api/shellapi/nf-shellapi-commandlinetoargvw',
      quote: '(2n) + 1 backslashes followed by a quotation mark again produce n backslashes followed by a quotation mark literal (").',
    },
  ],
});

/**
 * Windows PowerShell 5.1 wraps each line a native command writes to standard error in an error record
 * and, when stderr is redirected, applies `$ErrorActionPreference` to it: under 'Stop' the first line
 * throws. The agent therefore runs native programs (shutdown.exe, reg.exe, schtasks.exe) through
 * System.Diagnostics.Process, whose streams never reach PowerShell's error stream — the same on 5.1
 * and 7.
 */
export const NATIVE_STDERR_UNDER_STOP = defineFact({
  id: 'powershell.native-stderr-under-stop',
  topic: 'Windows PowerShell 5.1',
  statement: "Windows PowerShell 5.1 applies $ErrorActionPreference to a native command's redirected standard error (under Stop it throws): the agent runs native programs through System.Diagnostics.Process",
  value: true,
  status: 'unknown',
  proof: 'none',
  sources: [],
  note: "No Microsoft Learn sentence found for 5.1 itself. The PowerShell team's pull request that changed it for 7 (github.com/PowerShell/PowerShell/pull/13361) says: \"Stderr output is still wrapped as ErrorRecords, but the runtime no longer applies $ErrorActionPreference if the ErrorRecord comes from a native command.\" The agent avoids the question: its native programs never go through PowerShell's native command processor.",
});

/**
 * Setting `[Console]::OutputEncoding` where the process has no console (a WinRM session) throws "The
 * handle is invalid" on Windows PowerShell 5.1. The agent guards it: there is nothing to set where no
 * console carries the answer (remoting returns objects).
 */
export const NO_CONSOLE_ENCODING = defineFact({
  id: 'powershell.no-console-output-encoding',
  topic: 'Windows PowerShell 5.1',
  statement: 'setting [Console]::OutputEncoding without a console (WinRM) throws "The handle is invalid" on 5.1: the agent tries it and goes on without it',
  value: true,
  status: 'unknown',
  proof: 'none',
  sources: [],
  note: 'Reported in the issue from WinRM sessions; no Microsoft document found. The agent treats a failure to set it as "no console": it decides nothing else.',
});

/**
 * The resume task runs as SYSTEM with the service-account logon type: the logon type Task Scheduler
 * defines for the Local System account, with no password stored and no one logged on.
 */
export const TASK_SERVICE_ACCOUNT_LOGON = defineFact({
  id: 'powershell.task-service-account-logon',
  topic: 'Windows PowerShell 5.1',
  statement: 'a scheduled task that runs as SYSTEM uses the service-account logon type (New-ScheduledTaskPrincipal -LogonType ServiceAccount)',
  value: 'ServiceAccount',
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Principal.LogonType property',
      url: 'https://learn.microsoft.com/windows/win32/taskschd/principal-logontype',
      quote: 'TASK_LOGON_SERVICE_ACCOUNT 5 Indicates that a Local System, Local Service, or Network Service account is being used as a security context to run the task.',
    },
  ],
});

/**
 * Windows PowerShell 5.1 reads a script file without a byte order mark in the machine's ANSI code page:
 * a UTF-8 `undo.ps1` without one would have its non-ASCII characters (in a registry name or string)
 * read as other characters, and restored so. `undo.ps1` is therefore pure ASCII — every other character
 * of its data written as a JSON `\uXXXX` escape — which every code page and UTF-8 read alike.
 */
export const SCRIPT_WITHOUT_BOM_IS_ANSI = defineFact({
  id: 'powershell.script-without-bom-is-ansi',
  topic: 'Windows PowerShell 5.1',
  statement: 'Windows PowerShell 5.1 reads a .ps1 without a byte order mark in the legacy ANSI code page: undo.ps1 is written as pure ASCII, its data\'s other characters as JSON \\u escapes',
  value: 'ansi',
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'about_Character_Encoding',
      url: 'https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_character_encoding',
      quote: 'Without the BOM, Windows PowerShell misinterprets your script as being encoded in the legacy "ANSI" codepage.',
    },
  ],
});

/** Every Windows PowerShell 5.1 fact, in the order of `docs/windows-facts.md`. */
/**
 * A PSSession's idle timeout, set by the client when it makes the session: the remote shell closes
 * when nothing (not even the heartbeat) comes from the client for that long. Left unset, a WSMan
 * session outlives a controller PowerShell that was stopped (a call given up on) by up to two hours,
 * each one counting toward the server's MaxShellsPerUser meanwhile; set, a stopped controller's
 * sessions end after it, while a living one's heartbeat keeps them open between calls.
 */
export const PSSESSION_IDLE_TIMEOUT_MIN_MS = defineFact({
  id: 'powershell.pssession-idle-timeout-min-ms',
  topic: 'Windows PowerShell 5.1',
  statement: 'A PSSession option IdleTimeout closes the remote session after that many milliseconds without any communication from the client, the heartbeat included; its minimum is 60000, and without one the default Microsoft.PowerShell configuration keeps an idle session 7200000 ms (2 hours)',
  value: 60_000,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'New-PSSessionOption (Microsoft.PowerShell.Core), PowerShell 5.1: -IdleTimeout',
      url: 'https://learn.microsoft.com/powershell/module/microsoft.powershell.core/new-pssessionoption?view=powershell-5.1',
      quote:
        'Determines how long the session stays open if the remote computer does not receive any communication from the local computer. This includes the heartbeat signal. When the interval expires, the session closes. [...] Enter a value in milliseconds. The minimum value is 60000 (1 minute). [...] The IdleTimeoutMs value of the default Microsoft.PowerShell session configuration is 7200000 milliseconds (2 hours).',
    },
  ],
});

export const POWERSHELL_FACTS: readonly WindowsFact[] = [SSH_REMOTING_MIN_MAJOR, COMMAND_LINE_RULES, NATIVE_STDERR_UNDER_STOP, NO_CONSOLE_ENCODING, TASK_SERVICE_ACCOUNT_LOGON, SCRIPT_WITHOUT_BOM_IS_ANSI, PSSESSION_IDLE_TIMEOUT_MIN_MS];
