/**
 * Windows facts: the WinRM service (the server side of WS-Management), as the simulated host's WinRM
 * listener models it. Each states its Microsoft source; see `types.ts` for the shape.
 */
import { defineFact, type WindowsFact } from './types.js';

const MS_WSMV = 'https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-wsmv/';

/** The service refuses messages that would travel unencrypted (HTTP without message encryption). */
export const WINRM_SERVICE_ALLOW_UNENCRYPTED_DEFAULT = defineFact({
  id: 'winrm.service-allow-unencrypted-default',
  topic: 'WinRM service',
  statement: 'The WinRM service does not accept unencrypted messages unless AllowUnencrypted is set: its default is false',
  value: false,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: '[MS-WSMV] 2.2.4.36 ServiceType',
      url: `${MS_WSMV}bbaeecdf-7540-4fd6-8ce1-bff0cb5be776`,
      quote: '<xs:element name="AllowUnencrypted" type="xs:boolean" default="false"/>',
    },
    {
      title: '[MS-WSMV] 3.1.4.1.29.1 http://schemas.microsoft.com/wbem/wsman/1/config/service',
      url: MS_WSMV,
      quote:
        'The Web Services Management Protocol Extensions for Windows Vista service MUST NOT accept requests if either the SOAP request or response would be unencrypted when the AllowUnencrypted property of the cfg:ServiceType is false.',
    },
  ],
});

/** Basic authentication is off in the service unless an administrator turns it on. */
export const WINRM_SERVICE_BASIC_DEFAULT = defineFact({
  id: 'winrm.service-basic-default',
  topic: 'WinRM service',
  statement: 'The WinRM service accepts Basic authentication only when Auth/Basic is set: its default is false',
  value: false,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: '[MS-WSMV] 2.2.4.34 ServiceAuthType',
      url: `${MS_WSMV}e4e963f4-cae9-4821-9efa-65e8f839a30b`,
      quote: '<xs:element name="Basic" type="xs:boolean" default="false"/>',
    },
  ],
});

/** The largest request (and response) envelope the service takes, in kilobytes. */
export const WINRM_SERVICE_MAX_ENVELOPE_SIZE_KB = defineFact({
  id: 'winrm.service-max-envelope-size-kb',
  topic: 'WinRM service',
  statement: 'MaxEnvelopeSizekb defaults to 500 (150 on Windows Server 2008 R2 and earlier, which this engine does not target)',
  value: 500,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: '[MS-WSMV] 2.2.4.10 ConfigType',
      url: `${MS_WSMV}932240de-3943-4ed3-a162-8b3c4de5a286`,
      quote: 'The default value SHOULD be 500 but MAY be 150.',
    },
  ],
  note: "MS-WSMV's product-behaviour note <8> to 2.2.4.10 names the systems with 150: Windows Server 2003 R2, Windows Vista SP1, Windows Server 2008, Windows 7 and Windows Server 2008 R2.",
});

/** What the service answers a request larger than MaxEnvelopeSizekb: HTTP 413, the SOAP not read. */
export const WINRM_SERVICE_OVERSIZE_STATUS = defineFact({
  id: 'winrm.service-oversize-request-status',
  topic: 'WinRM service',
  statement: 'A request larger than MaxEnvelopeSizekb gets HTTP 413 without its SOAP message being processed',
  value: 413,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: '[MS-WSMV] 3.1.4.1.20 Inbound Message Size',
      url: MS_WSMV,
      quote:
        'The Web Services Management Protocol Extensions for Windows Vista servers MUST return an HTTP status of 413 (Request Entity Too Large) without processing the SOAP message if the request packet from the client is larger than the MaxEnvelopeSizekb configuration setting, as specified in section 2.2.4.10.',
    },
  ],
});

/** The WSManFault code of a Receive that saw no output within its OperationTimeout (the client asks again). */
export const WINRM_RECEIVE_TIMEOUT_CODE = defineFact({
  id: 'winrm.receive-timeout-fault-code',
  topic: 'WinRM service',
  statement: 'A Receive with no output before its OperationTimeout ends in a WSManFault with Code 2150858793; the client sends another Receive',
  value: 2150858793,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: '[MS-WSMV] 3.1.4.14 Receive',
      url: `${MS_WSMV}50cc2c38-e094-4d59-aec2-39e09f314862`,
      quote: 'If no output is available before the wsman:OperationTimeout expires, the server MUST return a WSManFault with the Code attribute equal to "2150858793".',
    },
  ],
});

/** The message of the fault for a shell that is not (or no longer) on the server. */
export const WINRM_SHELL_NOT_FOUND = defineFact({
  id: 'winrm.shell-not-found-fault',
  topic: 'WinRM service',
  statement: 'A request for a shell the server does not have is refused with "the shell was not found on the server" (fault w:InvalidSelectors, WSManFault Code 2150858843)',
  value: {
    subcode: 'w:InvalidSelectors',
    code: 2150858843,
    message:
      'The request for the Windows Remote Shell with ShellId {shellId} failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation.',
  },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Connect to Security & Compliance PowerShell',
      url: 'https://learn.microsoft.com/en-us/powershell/exchange/connect-to-scc-powershell',
      quote:
        'The request for the Windows Remote Shell with ShellId <ID> failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation.',
    },
  ],
  note: 'The message is Microsoft\'s; the fault around it (s:Sender, w:InvalidSelectors, WSManFault Code 2150858843) is as independent WinRM clients (the WinRM Ruby gem, winrm4j) capture it from Windows and test for it: no Microsoft document pairs the code with the message.',
});

/** The fault a shell's creation gets when a quota of the Windows Remote Shell is reached (shells per user, users). */
export const WINRM_SHELL_QUOTA_FAULT = defineFact({
  id: 'winrm.shell-quota-fault',
  topic: 'WinRM service',
  statement: 'A shell creation beyond a quota of the Windows Remote Shell (MaxShellsPerUser, MaxConcurrentUsers) is refused with the fault w:QuotaLimit; the server asks to retry later',
  value: { subcode: 'w:QuotaLimit' },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: '[MS-WSMV] 3.1.4.5.2.1 wsman:QuotaLimit',
      url: `${MS_WSMV}77425799-79f6-4a9a-b164-3873e742d921`,
      quote: 'A wsman:QuotaLimit fault SHOULD be returned by the wst:Create operation when a quota limit is exceeded.',
    },
  ],
  note: 'The same section gives the messages: for MaxShellsPerUser "The Windows Remote Shell cannot process the request. The server is already executing the maximum number of concurrent shells a user can remotely open on the same system. Retry later."',
});

/** How many shells one user may hold open on a server at once, unless configured. */
export const WINRM_MAX_SHELLS_PER_USER_DEFAULT = defineFact({
  id: 'winrm.max-shells-per-user-default',
  topic: 'WinRM service',
  statement: 'winrm/config/winrs/MaxShellsPerUser, the shells one user may have open on the server at once, defaults to 30',
  value: 30,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: '[MS-WSMV] 2.2.4.42 WinrsType',
      url: `${MS_WSMV}7ffb4acd-cf01-4fbe-9e48-7746f5001957`,
      quote: '<xs:element name="MaxShellsPerUser" type="xs:unsignedLong" default="30"/>',
    },
  ],
  note: 'Used only to say the likely limit in an error; the server\'s own configuration decides.',
});

/** What the service answers an authenticated request that is not encrypted when AllowUnencrypted is false. */
export const WINRM_UNENCRYPTED_REFUSAL_STATUS = defineFact({
  id: 'winrm.unencrypted-refusal-status',
  topic: 'WinRM service',
  statement: 'The HTTP status a WinRM service gives an authenticated but unencrypted message over HTTP (AllowUnencrypted=false)',
  value: 500,
  status: 'unknown',
  proof: 'none',
  sources: [],
  note: 'No Microsoft document gives the status. Users of independent clients report HTTP 500 (pywinrm issues #129 and #185, winrm4j #151); one analysis reports 401 (hashicorp/packer #6205). The simulated listener answers 500 with no body; a client must not take this status alone as proof of the cause.',
});

/**
 * The ports a WinRM listener and client use when none is named: 5985 over HTTP, 5986 over HTTPS (since
 * WinRM 2.0, in every Windows this engine targets). `winrm://host` and `winrm://host:5985` are one
 * listener; so are `winrm+https://host` and `winrm+https://host:5986`.
 */
export const WINRM_DEFAULT_PORTS = defineFact({
  id: 'winrm.default-ports',
  topic: 'WinRM service',
  statement: 'A WinRM listener created without a port, and a client request that names none, use 5985 over HTTP and 5986 over HTTPS',
  value: { http: 5985, https: 5986 },
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Details on secure port configuration for WS-Management in Windows 7 and Windows Server 2008 R2',
      url: 'https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/ee922665(v=ws.10)',
      quote: 'The default ports used when creating new WS-Management listeners will be changed from 80 for HTTP and 443 for HTTPS to 5985 for HTTP and 5986 for HTTPS.',
    },
  ],
  note: 'The same page says that client requests sent without a port go to the new ports too (WinRM 2.0, part of Windows 7 and Windows Server 2008 R2 and every later Windows).',
});

/**
 * Who may use WinRM at all: an account that logs on (its password right) but is in neither group is
 * still refused, which a client sees as a refusal like a wrong password's.
 */
export const WINRM_REMOTE_ACCESS_GROUPS = defineFact({
  id: 'winrm.remote-access-groups',
  topic: 'WinRM service',
  statement: 'WinRM serves remotely only members of the local Administrators group or of the group WinRM creates for remote access (WinRMRemoteWMIUsers__)',
  value: ['Administrators', 'WinRMRemoteWMIUsers__'],
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Authentication for Remote Connections (Windows Remote Management)',
      url: 'https://learn.microsoft.com/en-us/windows/win32/winrm/authentication-for-remote-connections',
      quote: 'WinRM then restricts remote access to any user that is not a member of either the local administration group or the WinRMRemoteWMIUsers__ group.',
    },
  ],
  note: 'Later Windows names a Remote Management Users group for the same purpose in third-party pages; no Microsoft sentence quoted here names it, so the engine only mentions it as a possibility.',
});

/**
 * UAC's remote restrictions: a local (SAM) account in Administrators, other than where UAC does not
 * filter it, connects over the network without a full administrator's token.
 */
export const UAC_REMOTE_RESTRICTIONS = defineFact({
  id: 'uac.remote-restrictions-local-accounts',
  topic: 'WinRM service',
  statement: 'A local account in the Administrators group that connects over the network does not get a full administrator token (UAC remote restrictions), unless LocalAccountTokenFilterPolicy lifts them; a domain account in Administrators does',
  value: true,
  status: 'stated',
  proof: 'microsoft',
  sources: [
    {
      title: 'Description of User Account Control and remote restrictions in Windows Vista (KB951016)',
      url: 'https://support.microsoft.com/kb/951016',
      quote: 'When a user who is a member of the local administrators group on the target remote computer establishes a remote administrative connection by using the net use * \\\\remotecomputer\\Share$ command, for example, they will not connect as a full administrator.',
    },
  ],
  note: 'The page illustrates with net use, not WinRM; that WinRM then answers 401 is not stated there, so the engine names it as a possible cause only.',
});

/** Every WinRM service fact, in the order of `docs/windows-facts.md`. */
export const WINRM_SERVICE_FACTS: readonly WindowsFact[] = [
  WINRM_DEFAULT_PORTS,
  WINRM_SERVICE_ALLOW_UNENCRYPTED_DEFAULT,
  WINRM_SERVICE_BASIC_DEFAULT,
  WINRM_SERVICE_MAX_ENVELOPE_SIZE_KB,
  WINRM_SERVICE_OVERSIZE_STATUS,
  WINRM_RECEIVE_TIMEOUT_CODE,
  WINRM_SHELL_NOT_FOUND,
  WINRM_SHELL_QUOTA_FAULT,
  WINRM_MAX_SHELLS_PER_USER_DEFAULT,
  WINRM_UNENCRYPTED_REFUSAL_STATUS,
  WINRM_REMOTE_ACCESS_GROUPS,
  UAC_REMOTE_RESTRICTIONS,
];
