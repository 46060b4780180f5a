/** Windows facts: Restart. Each states its Microsoft source; see `types.ts` for the shape. */
import { defineFact, type WindowsFact } from './types.js';

const ERROR_CODES_1000_1299 = {
  title: 'System Error Codes (1000-1299)',
  url: 'https://learn.microsoft.com/windows/win32/debug/system-error-codes--1000-1299-',
} as const;

/** shutdown.exe's exit code when someone else's shutdown is scheduled: it is theirs, never cancelled. */
export const SHUTDOWN_IS_SCHEDULED = defineFact({
  id: 'restart.shutdown-is-scheduled',
  topic: 'Restart',
  statement: 'shutdown.exe exits 1190 (ERROR_SHUTDOWN_IS_SCHEDULED) when a shutdown is already scheduled: the step fails or waits for it, as ifShutdownPending says; it never cancels it',
  value: 1190,
  status: 'stated',
  proof: 'microsoft',
  sources: [{ ...ERROR_CODES_1000_1299, quote: 'ERROR_SHUTDOWN_IS_SCHEDULED 1190 (0x4A6) A system shutdown has already been scheduled.' }],
});

/**
 * shutdown.exe's exit code when a shutdown is already under way: that shutdown is the restart (it
 * can no longer be left alone or cancelled), so the step waits for it instead of failing and rolling
 * back on a host that is going down.
 */
export const SHUTDOWN_IN_PROGRESS = defineFact({
  id: 'restart.shutdown-in-progress',
  topic: 'Restart',
  statement: 'shutdown.exe exits 1115 (ERROR_SHUTDOWN_IN_PROGRESS) when a shutdown is already in progress: the step waits for it as the restart, whatever ifShutdownPending says',
  value: 1115,
  status: 'stated',
  proof: 'microsoft',
  sources: [{ ...ERROR_CODES_1000_1299, quote: 'ERROR_SHUTDOWN_IN_PROGRESS 1115 (0x45B) A system shutdown is in progress.' }],
});

/**
 * The reason the restart carries (`shutdown /d p:2:4`): Operating System, Reconfiguration, planned —
 * the run changed the system's configuration (SCHANNEL and .NET registry values). Windows logs it as
 * planned (event 1074) instead of as an unplanned restart.
 */
export const PLANNED_RESTART_REASON = defineFact({
  id: 'restart.planned-reason',
  topic: 'Restart',
  statement: 'the restart is logged as planned, Operating System: Reconfiguration (shutdown /d p:2:4): major 2 is SHTDN_REASON_MAJOR_OPERATINGSYSTEM, minor 4 SHTDN_REASON_MINOR_RECONFIG, p the planned flag',
  value: { major: 2, minor: 4 },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'shutdown (Windows commands)',
      url: 'https://learn.microsoft.com/windows-server/administration/windows-commands/shutdown',
      quote: 'p - Indicates that the restart or shutdown is planned.',
    },
    {
      title: 'System Shutdown Reason Codes',
      url: 'https://learn.microsoft.com/windows/win32/shutdown/system-shutdown-reason-codes',
      quote: 'SHTDN_REASON_MAJOR_OPERATINGSYSTEM 0x00020000 Operating system issue.',
    },
    {
      title: 'System Shutdown Reason Codes',
      url: 'https://learn.microsoft.com/windows/win32/shutdown/system-shutdown-reason-codes',
      quote: 'SHTDN_REASON_MINOR_RECONFIG 0x00000004 Reconfigure.',
    },
  ],
});

/**
 * A volatile key lives in memory only: a restart removes it. The simulator models the key below this
 * way (it is gone while the host is down and back only when the boot recreates it).
 */
export const VOLATILE_KEYS_END_WITH_THE_BOOT = defineFact({
  id: 'restart.volatile-keys',
  topic: 'Restart',
  statement: 'a volatile registry key does not survive a restart: after one, it exists only if something created it during the new boot',
  value: true,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'RegCreateKeyExW function (winreg.h)',
      url: 'https://learn.microsoft.com/windows/win32/api/winreg/nf-winreg-regcreatekeyexw',
      quote: 'All keys created by the function are volatile. The information is stored in memory and is not preserved when the corresponding registry hive is unloaded.',
    },
  ],
});

/**
 * When the system has finished starting. No Microsoft document says; ansible.windows' win_reboot
 * waits, after the boot time changed, until this volatile key exists, which LogonUI creates when it is
 * about to show the logon prompt. The step waits for it only on a host where it existed before the
 * restart — the host itself shows that its LogonUI creates it — so that this unknown never fails a
 * host on its own.
 */
export const LOGON_UI_READY_KEY = defineFact({
  id: 'restart.logon-ui-ready-key',
  topic: 'Restart',
  statement: 'the system has finished starting when LogonUI has created this volatile key (waited for only where it existed before the restart)',
  value: { view: '64', key: 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\AutoLogonChecked' } as const,
  status: 'unknown',
  proof: 'none',
  sources: [],
  note: 'No Microsoft document found (searched: AutoLogonChecked, LogonUI, "system finished starting"). ansible.windows plugins/plugin_utils/_reboot.py (win_reboot) deletes this key before its restart and waits until LogonUI creates it again. Read on a host before the restart: a host without it is not waited for.',
});

/**
 * Orchestrator's services need its SQL Server database when they start. No Microsoft document found
 * says the Runbook Service fails to start without it (the issue reports it); waiting for the database
 * to answer before the services are judged costs nothing where it is up, so the step waits for it.
 */
export const ORCHESTRATOR_NEEDS_DATABASE = defineFact({
  id: 'restart.orchestrator-needs-database',
  topic: 'Restart',
  statement: "after a restart the host is ready only once Orchestrator's SQL Server answers (its Runbook Service is reported to fail to start while SQL Server is not up)",
  value: true,
  status: 'unknown',
  proof: 'none',
  sources: [],
  note: 'No Microsoft document found (searched: Orchestrator Runbook Service, SQL Server not available, after restart). Waiting for the database decides nothing on its own: a database that answers passes at once; one that never answers fails the wait with its own message, which an administrator can avoid with databaseServer=none.',
});

/**
 * Windows' own record of each restart a process asks for: the System log's event 1074 (source User32),
 * written when the restart is initiated, with the comment given to `shutdown /c` — the engine's is
 * `runbook-engine run <id>`. A journal that lost the records of a restart cannot tell one restart by
 * the run from two; these events can (the restart step counts them only then, never for a normal run).
 */
export const RESTART_EVENT = defineFact({
  id: 'restart.shutdown-event',
  topic: 'Restart',
  statement: "each restart a process initiates is logged in the System log as event 1074 (source User32), whose description carries the comment given to shutdown.exe /c: the engine counts its own restarts of a run by that comment",
  value: { log: 'System', id: 1074, provider: 'User32' } as const,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Troubleshoot unexpected reboots using system event logs',
      url: 'https://learn.microsoft.com/troubleshoot/windows-server/performance/troubleshoot-unexpected-reboots-system-event-logs',
      quote: 'In any case, there should be an Event ID 1074 indicating what requested the reboot and a reason.',
    },
    {
      title: 'Troubleshoot unexpected reboots using system event logs',
      url: 'https://learn.microsoft.com/troubleshoot/windows-server/performance/troubleshoot-unexpected-reboots-system-event-logs',
      quote: 'The process <Process Name> has initiated the restart of computer <Computer Name> on behalf of user <Domain User> for the following reason: <Reason> Reason Code: <Hex Code> Shutdown Type: <Type> Comment:',
    },
    {
      title: 'Shutdown Event Tracker',
      url: 'https://learn.microsoft.com/windows/win32/shutdown/shutdown-event-tracker',
      quote: 'The user is prompted to fill in information when selecting Shut Down from the Start menu, or when using Shutdown.exe.',
    },
    {
      title: 'Shutdown Event Tracker',
      url: 'https://learn.microsoft.com/windows/win32/shutdown/shutdown-event-tracker',
      quote: 'The information is stored in the event log.',
    },
    {
      title: 'Win32ShutdownTracker method of the Win32_OperatingSystem class',
      url: 'https://learn.microsoft.com/windows/win32/cimwin32prov/win32shutdowntracker-method-in-class-win32-operatingsystem',
      quote: 'Message to display in the shutdown dialog box that is also stored as a comment in the event log entry.',
    },
  ],
  note: 'No one sentence says that the text of shutdown.exe /c is the Comment of event 1074: the troubleshooting article gives the event\'s description with its Comment field; the Shutdown Event Tracker page says what is given with Shutdown.exe is stored in the event log; the WMI method says its comment is stored as the comment of the event log entry. Read with Get-WinEvent -FilterHashtable @{ LogName = \'System\'; Id = 1074; StartTime = … } (Windows PowerShell 2.0 and later, 5.1 included); the comment is matched as one of the event\'s values, equal to the whole text. A log that cannot be read, or fewer events than the question needs, proves nothing: the restart is sent as before.',
});

/** Every Restart fact, in the order of `docs/windows-facts.md`. */
export const RESTART_FACTS: readonly WindowsFact[] = [
  SHUTDOWN_IS_SCHEDULED,
  SHUTDOWN_IN_PROGRESS,
  PLANNED_RESTART_REASON,
  RESTART_EVENT,
  VOLATILE_KEYS_END_WITH_THE_BOOT,
  LOGON_UI_READY_KEY,
  ORCHESTRATOR_NEEDS_DATABASE,
];
