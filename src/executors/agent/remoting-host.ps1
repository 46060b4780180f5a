# runbook-engine PowerShell remoting host: one long-lived local PowerShell that keeps one PSSession
# per target and runs the agent in it for every call, so no PowerShell starts per call.
# It reads one JSON request per line on standard input:
#   { "id": 1, "target": { "transport": "ssh"|"wsman", "host": "...", "port": 22, "user": "..." }, "request": "<agent request JSON>",
#     "pin": { "knownHosts": "<file>", "alias": "<name>" }, "idleTimeoutMs": 180000 }
#   (pin: only for a host key pinned by the controller; idleTimeoutMs: a WSMan session's idle timeout)
# and answers one line per request on standard output:
#   RBE-HOST {"id":1,"ok":true,"output":"..."}   or   RBE-HOST {"id":1,"ok":false,"kind":"unreachable","message":"...","ssh":["..."]}
# ("ssh": what OpenSSH's ssh printed while a session over SSH was being made, for the controller to tell
# refused credentials and an untrusted host key from an unreachable host.)
# Targets, names and requests are data; the only code run remotely is the agent program, read from
# the path given as the first argument. Credentials come from the environment, never from arguments.

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$agentSource = [System.IO.File]::ReadAllText($args[0])
$agentBlock = [ScriptBlock]::Create($agentSource)
$sessions = @{}
# ssh's lines while the last SSH session was being made (see New-TargetSession).
$script:sshOutput = ''

function Get-TargetKey($t) { return "$($t.transport)|$($t.user)|$($t.host)|$($t.port)" }

# A value of an ssh -o option, quoted for ssh's own parser when it holds a space (a path under a
# Windows profile): ssh reads UserKnownHostsFile as a list of files separated by spaces.
function Format-SshOptionValue([string]$value) {
    if ($value -match '\s') { return '"' + $value + '"' }
    return $value
}

function New-TargetSession($t, $pin, $idleTimeoutMs) {
    if ($t.transport -eq 'ssh') {
        # SSH remoting (-HostName) exists from PowerShell 6: Windows PowerShell 5.1 cannot hold this session.
        if (-not (Get-Command New-PSSession).Parameters.ContainsKey('HostName')) {
            throw (New-Object System.NotSupportedException "pwsh+ssh:// needs PowerShell 7 (pwsh) on this machine: this is PowerShell $($PSVersionTable.PSVersion), whose New-PSSession has no -HostName")
        }
        $p = @{ HostName = [string]$t.host; Port = [int]$t.port; UserName = [string]$t.user; ErrorAction = 'Stop' }
        if ($env:RUNBOOK_SSH_KEY) { $p.KeyFilePath = $env:RUNBOOK_SSH_KEY }
        $options = @{ StrictHostKeyChecking = 'yes'; BatchMode = 'yes'; ConnectTimeout = '15' }
        if ($env:RUNBOOK_SSH_KNOWN_HOSTS) { $options.UserKnownHostsFile = Format-SshOptionValue $env:RUNBOOK_SSH_KNOWN_HOSTS }
        $hasOptions = (Get-Command New-PSSession).Parameters.ContainsKey('Options')
        if ($null -ne $pin) {
            # The controller checked the host's key against RUNBOOK_SSH_FINGERPRINT and filed exactly that
            # key, under an alias, in a file of its own: ssh's only host key database, so that ssh accepts
            # that key and no other. Without -Options (before PowerShell 7.3) ssh cannot be told so.
            if (-not $hasOptions) {
                throw (New-Object System.NotSupportedException "RUNBOOK_SSH_FINGERPRINT needs PowerShell 7.3 or later on this machine for pwsh+ssh:// (New-PSSession -Options): this is PowerShell $($PSVersionTable.PSVersion)")
            }
            $file = Format-SshOptionValue ([string]$pin.knownHosts)
            $options.UserKnownHostsFile = $file
            $options.GlobalKnownHostsFile = $file
            $options.HostKeyAlias = [string]$pin.alias
            # Nor may other sources of trust (DNS, the address's own entries) or new keys come in.
            $options.UpdateHostKeys = 'no'
            $options.VerifyHostKeyDNS = 'no'
            $options.CheckHostIP = 'no'
        }
        if ($hasOptions) { $p.Options = $options }
        # PowerShell's SSH transport writes ssh's standard error to the console ([Console]::Out) from the
        # thread that reads it, and fails the session from that same thread once ssh has ended: every line
        # ssh printed is written before New-PSSession fails. They are kept for the answer.
        $console = [Console]::Out
        $lines = New-Object System.IO.StringWriter
        [Console]::SetOut([System.IO.TextWriter]::Synchronized($lines))
        try {
            return New-PSSession @p
        } finally {
            [Console]::SetOut($console)
            $script:sshOutput = $lines.ToString()
        }
    }
    $w = @{ ComputerName = [string]$t.host; ErrorAction = 'Stop' }
    if ([int]$t.port -gt 0) { $w.Port = [int]$t.port }
    if ($env:RUNBOOK_WINRM_USER) {
        $secure = ConvertTo-SecureString -String $env:RUNBOOK_WINRM_PASSWORD -AsPlainText -Force
        $w.Credential = New-Object System.Management.Automation.PSCredential ($env:RUNBOOK_WINRM_USER, $secure)
    }
    if ($env:RUNBOOK_WINRM_HTTPS -eq '1') { $w.UseSSL = $true }
    if ($null -ne $idleTimeoutMs) {
        # The remote shell closes once nothing, not even the heartbeat, comes from here for this long: if
        # this PowerShell is stopped (a call given up on), its sessions end soon after instead of counting
        # toward the server's MaxShellsPerUser up to two hours. Set as a property: New-PSSessionOption has
        # no -IdleTimeout outside Windows (PowerShell 7 on Linux and macOS).
        $option = New-PSSessionOption
        $option.IdleTimeout = [TimeSpan]::FromMilliseconds([double]$idleTimeoutMs)
        $w.SessionOption = $option
    }
    return New-PSSession @w
}

function Get-TargetSession($t, $pin, $idleTimeoutMs) {
    $key = Get-TargetKey $t
    if ($sessions.ContainsKey($key)) {
        $s = $sessions[$key]
        if ($s.State -eq 'Opened') { return $s }
        # Broken (the target restarted): make a new one.
        Remove-PSSession -Session $s -ErrorAction SilentlyContinue
        $sessions.Remove($key)
    }
    $s = New-TargetSession $t $pin $idleTimeoutMs
    $sessions[$key] = $s
    return $s
}

function Send-Answer($answer) {
    [Console]::Out.Write('RBE-HOST ' + (ConvertTo-Json -InputObject $answer -Depth 5 -Compress) + "`n")
    [Console]::Out.Flush()
}

while ($true) {
    $line = [Console]::In.ReadLine()
    if ($null -eq $line) { break }
    if ($line.Trim() -eq '') { continue }
    $id = $null
    try {
        $msg = ConvertFrom-Json -InputObject $line
        $id = $msg.id
        $session = $null
        $pin = $null
        if ($msg.PSObject.Properties['pin']) { $pin = $msg.pin }
        $idleTimeoutMs = $null
        if ($msg.PSObject.Properties['idleTimeoutMs']) { $idleTimeoutMs = $msg.idleTimeoutMs }
        $script:sshOutput = ''
        try {
            $session = Get-TargetSession $msg.target $pin $idleTimeoutMs
        } catch {
            $kind = 'unreachable'
            # PowerShell's own refusals (no SSH remoting here, a key file that is not there) are not retried.
            if ($_.Exception -is [System.NotSupportedException] -or $_.Exception -is [System.Management.Automation.ItemNotFoundException]) { $kind = 'permanent' }
            $ssh = @(($script:sshOutput -split "`r?`n") | Where-Object { $_.Trim() -ne '' })
            Send-Answer ([ordered]@{ id = $id; ok = $false; kind = $kind; message = $_.Exception.Message; ssh = $ssh })
            continue
        }
        try {
            $out = Invoke-Command -Session $session -ScriptBlock $agentBlock -ArgumentList ([string]$msg.request) -ErrorAction Stop
            Send-Answer ([ordered]@{ id = $id; ok = $true; output = ((@($out) | ForEach-Object { [string]$_ }) -join "`n") })
        } catch {
            $kind = 'permanent'
            if ($_.Exception -is [System.Management.Automation.Remoting.PSRemotingTransportException] -or $session.State -ne 'Opened') {
                $kind = 'reset'
                # Removed, not only forgotten: a session whose connection broke may still hold its shell on
                # the server (counting toward MaxShellsPerUser) until its idle timeout.
                try { Remove-PSSession -Session $session -ErrorAction SilentlyContinue } catch { }
                $sessions.Remove((Get-TargetKey $msg.target))
            }
            Send-Answer ([ordered]@{ id = $id; ok = $false; kind = $kind; message = $_.Exception.Message })
        }
    } catch {
        Send-Answer ([ordered]@{ id = $id; ok = $false; kind = 'protocol'; message = $_.Exception.Message })
    }
}
foreach ($s in $sessions.Values) { Remove-PSSession -Session $s -ErrorAction SilentlyContinue }
