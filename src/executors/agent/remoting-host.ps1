# runbook-engine PowerShell remoting host: one long-lived local PowerShell that keeps one PSSession
# per target and runs the agent in it for every call, so no PowerShell starts per call.
# It reads one JSON request per line on standard input:
#   { "id": 1, "target": { "transport": "ssh"|"wsman", "host": "...", "port": 22, "user": "..." }, "request": "<agent request JSON>" }
# and answers one line per request on standard output:
#   RBE-HOST {"id":1,"ok":true,"output":"..."}   or   RBE-HOST {"id":1,"ok":false,"kind":"unreachable","message":"..."}
# Targets, names and requests are data; the only code run remotely is the agent program, read from
# the path given as the first argument. Credentials come from the environment, never from arguments.

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$agentSource = [System.IO.File]::ReadAllText($args[0])
$agentBlock = [ScriptBlock]::Create($agentSource)
$sessions = @{}

function Get-TargetKey($t) { return "$($t.transport)|$($t.user)|$($t.host)|$($t.port)" }

function New-TargetSession($t) {
    if ($t.transport -eq 'ssh') {
        # SSH remoting (-HostName) exists from PowerShell 6: Windows PowerShell 5.1 cannot hold this session.
        if (-not (Get-Command New-PSSession).Parameters.ContainsKey('HostName')) {
            throw (New-Object System.NotSupportedException "pwsh+ssh:// needs PowerShell 7 (pwsh) on this machine: this is PowerShell $($PSVersionTable.PSVersion), whose New-PSSession has no -HostName")
        }
        $p = @{ HostName = [string]$t.host; Port = [int]$t.port; UserName = [string]$t.user; ErrorAction = 'Stop' }
        if ($env:RUNBOOK_SSH_KEY) { $p.KeyFilePath = $env:RUNBOOK_SSH_KEY }
        $options = @{ StrictHostKeyChecking = 'yes'; BatchMode = 'yes'; ConnectTimeout = '15' }
        if ($env:RUNBOOK_SSH_KNOWN_HOSTS) { $options.UserKnownHostsFile = $env:RUNBOOK_SSH_KNOWN_HOSTS }
        if ((Get-Command New-PSSession).Parameters.ContainsKey('Options')) { $p.Options = $options }
        return New-PSSession @p
    }
    $w = @{ ComputerName = [string]$t.host; ErrorAction = 'Stop' }
    if ([int]$t.port -gt 0) { $w.Port = [int]$t.port }
    if ($env:RUNBOOK_WINRM_USER) {
        $secure = ConvertTo-SecureString -String $env:RUNBOOK_WINRM_PASSWORD -AsPlainText -Force
        $w.Credential = New-Object System.Management.Automation.PSCredential ($env:RUNBOOK_WINRM_USER, $secure)
    }
    if ($env:RUNBOOK_WINRM_HTTPS -eq '1') { $w.UseSSL = $true }
    return New-PSSession @w
}

function Get-TargetSession($t) {
    $key = Get-TargetKey $t
    if ($sessions.ContainsKey($key)) {
        $s = $sessions[$key]
        if ($s.State -eq 'Opened') { return $s }
        # Broken (the target restarted): make a new one.
        Remove-PSSession -Session $s -ErrorAction SilentlyContinue
        $sessions.Remove($key)
    }
    $s = New-TargetSession $t
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
        try {
            $session = Get-TargetSession $msg.target
        } catch {
            $kind = 'unreachable'
            if ($_.Exception -is [System.NotSupportedException]) { $kind = 'permanent' }
            Send-Answer ([ordered]@{ id = $id; ok = $false; kind = $kind; message = $_.Exception.Message })
            continue
        }
        try {
            $out = Invoke-Command -Session $session -ScriptBlock $agentBlock -ArgumentList ([string]$msg.request) -ErrorAction Stop
            Send-Answer ([ordered]@{ id = $id; ok = $true; output = ((@($out) | ForEach-Object { [string]$_ }) -join "`n") })
        } catch {
            $kind = 'permanent'
            if ($_.Exception -is [System.Management.Automation.Remoting.PSRemotingTransportException] -or $session.State -ne 'Opened') {
                $kind = 'reset'
                $sessions.Remove((Get-TargetKey $msg.target))
            }
            Send-Answer ([ordered]@{ id = $id; ok = $false; kind = $kind; message = $_.Exception.Message })
        }
    } catch {
        Send-Answer ([ordered]@{ id = $id; ok = $false; kind = 'protocol'; message = $_.Exception.Message })
    }
}
foreach ($s in $sessions.Values) { Remove-PSSession -Session $s -ErrorAction SilentlyContinue }
