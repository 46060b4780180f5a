# The tests' backend for the agent: the registry and host facts of a simulated-host JSON file (the
# format of src/simulator/model.ts) named by RUNBOOK_AGENT_HOST_FILE, behind the same
# operations, so that everything else in the agent (JSON, dispatch, DWORD normalisation, errors,
# framing) runs for real on machines without Windows. The controller joins this file into agent.ps1
# (agent/protocol.ts) only when asked to; it redefines agent.ps1's backend functions and nothing else.

$script:HostFile = $env:RUNBOOK_AGENT_HOST_FILE
$script:Doc = $null
$script:Dirty = $false

# ---------- the document ----------

function Load-Doc {
    if ($null -eq $script:Doc) {
        $text = [System.IO.File]::ReadAllText($script:HostFile)
        $script:Doc = Read-JsonText $text
    }
    return $script:Doc
}

function Save-Doc {
    if (-not $script:Dirty) { return }
    $doc = Load-Doc
    $registry = [ordered]@{}
    foreach ($k in @($doc.registry.Keys | Sort-Object -CaseSensitive)) { $registry[$k] = Sort-Dictionary $doc.registry[$k] }
    $doc.registry = $registry
    $json = ConvertTo-Json -InputObject $doc -Depth 20
    $tmp = "$($script:HostFile).agent.tmp"
    [System.IO.File]::WriteAllText($tmp, $json + "`n", (New-Object System.Text.UTF8Encoding $false))
    Move-Item -LiteralPath $tmp -Destination $script:HostFile -Force
}

# The 32-bit view of SOFTWARE\X is SOFTWARE\Wow6432Node\X on a 64-bit OS, as WOW64 redirects it.
function File-Physical([string]$view, [string]$key) {
    $clean = Get-CleanKey $key
    $doc = Load-Doc
    if ($view -ne '32' -or $doc.os.architecture -eq '32-bit') { return $clean }
    $parts = $clean.Split('\')
    if ($parts[0] -ne 'SOFTWARE') { return $clean }
    if ($parts.Length -gt 1 -and $parts[1] -eq 'Wow6432Node') { return $clean }
    return (@($parts[0], 'Wow6432Node') + $parts[1..($parts.Length)] | Where-Object { $_ -ne $null -and $_ -ne '' }) -join '\'
}

function File-FindKey([string]$path) {
    $doc = Load-Doc
    foreach ($k in $doc.registry.Keys) { if ($k -eq $path) { return $k } }
    return $null
}

function File-FindName($values, [string]$name) {
    foreach ($n in $values.Keys) { if ($n -eq $name) { return $n } }
    return $null
}

function File-Children([string]$path) {
    $doc = Load-Doc
    $prefix = "$path\"
    $out = @()
    foreach ($k in $doc.registry.Keys) {
        if ($k.StartsWith($prefix, [StringComparison]::OrdinalIgnoreCase)) {
            $rest = $k.Substring($prefix.Length)
            if (-not $rest.Contains('\')) { $out += $rest }
        }
    }
    return $out
}

function File-Touch([string]$path) {
    $doc = Load-Doc
    $doc.keyTimes[$path] = Get-IsoNow
    $script:Dirty = $true
}

function Format-RegLine([string]$name, $value) {
    $quoted = '"' + $name.Replace('\', '\\').Replace('"', '\"') + '"'
    switch ([string]$value.type) {
        'REG_DWORD' { return $quoted + '=dword:' + ([uint32]$value.data).ToString('x8') }
        'REG_SZ' { return $quoted + '="' + ([string]$value.data).Replace('\', '\\').Replace('"', '\"') + '"' }
        'REG_QWORD' { return $quoted + '=hex(b):' + ((([BitConverter]::GetBytes([uint64]::Parse([string]$value.data))) | ForEach-Object { $_.ToString('x2') }) -join ',') }
        'REG_BINARY' { $h = [string]$value.data; $pairs = @(); for ($i = 0; $i -lt $h.Length; $i += 2) { $pairs += $h.Substring($i, 2) }; return $quoted + '=hex:' + ($pairs -join ',') }
        default {
            if ($value.type -eq 'REG_MULTI_SZ') { $text = (@($value.data) -join "`0") + "`0`0"; $tag = '7' } else { $text = [string]$value.data + "`0"; $tag = '2' }
            return $quoted + "=hex($tag):" + (([System.Text.Encoding]::Unicode.GetBytes($text) | ForEach-Object { $_.ToString('x2') }) -join ',')
        }
    }
}

# A hex value's line wrapped as reg export writes it (and the simulator, windows/reg-file.ts wrapRegLine):
# after a comma, no line over 80 characters, each but the last ending in '\', the next indented by two spaces.
function Format-WrappedRegLine([string]$line) {
    $m = [regex]::Match($line, '^(.*=hex(?:\([0-9a-f]+\))?:)([0-9a-f]{2}(?:,[0-9a-f]{2})*)$')
    if (-not $m.Success -or $line.Length -le 80) { return $line }
    $bytes = $m.Groups[2].Value.Split(',')
    $lines = @()
    $current = $m.Groups[1].Value
    for ($i = 0; $i -lt $bytes.Length; $i++) {
        if ($i -lt $bytes.Length - 1) { $piece = $bytes[$i] + ',' } else { $piece = $bytes[$i] }
        if ($current.Length + $piece.Length -gt 79 -and $current.Trim() -ne '') {
            $lines += ($current + '\')
            $current = '  '
        }
        $current += $piece
    }
    $lines += $current
    return ($lines -join "`r`n")
}

# ---------- registry operations on the document ----------

function Reg-KeyExists([string]$view, [string]$key) { return ($null -ne (File-FindKey (File-Physical $view $key))) }

function Reg-Read([string]$view, [string]$key, [string]$name) {
    $path = File-FindKey (File-Physical $view $key)
    if ($null -eq $path) { return $null }
    $values = (Load-Doc).registry[$path]
    $found = File-FindName $values $name
    if ($null -eq $found) { return $null }
    # Hand the stored value over the way .NET would (a DWORD as Int32), so that the same
    # normalisation runs as on Windows.
    $stored = $values[$found]
    return ConvertFrom-Raw $script:KindOf[[string]$stored.type] (ConvertTo-Raw $stored)
}

function Reg-DeleteValue([string]$view, [string]$key, [string]$name) {
    $path = File-FindKey (File-Physical $view $key)
    if ($null -eq $path) { return }
    $values = (Load-Doc).registry[$path]
    $found = File-FindName $values $name
    if ($null -ne $found) { $values.Remove($found); File-Touch $path }
    return
}

function Reg-KeyInfo([string]$view, [string]$key) {
    $doc = Load-Doc
    $path = File-FindKey (File-Physical $view $key)
    if ($null -eq $path) { return [ordered]@{ exists = $false; lastWriteTime = $null; subkeys = @(); values = @() } }
    $time = $doc.bootTime
    if ($doc.keyTimes.Contains($path)) { $time = $doc.keyTimes[$path] }
    return [ordered]@{ exists = $true; lastWriteTime = [string]$time; subkeys = @(File-Children $path); values = @($doc.registry[$path].Keys) }
}

function File-ExportText([string]$view, [string]$key) {
    $doc = Load-Doc
    $path = File-Physical $view $key
    $lines = @('Windows Registry Editor Version 5.00', '')
    foreach ($k in @($doc.registry.Keys | Where-Object { $_ -eq $path -or $_.StartsWith("$path\", [StringComparison]::OrdinalIgnoreCase) } | Sort-Object -CaseSensitive)) {
        $lines += "[HKEY_LOCAL_MACHINE\$k]"
        foreach ($n in @($doc.registry[$k].Keys | Sort-Object -CaseSensitive)) { $lines += (Format-WrappedRegLine (Format-RegLine $n $doc.registry[$k][$n])) }
        $lines += ''
    }
    return ($lines -join "`r`n")
}

function Reg-Export([string]$view, [string]$key, [string]$file) {
    $doc = Load-Doc
    $content = File-ExportText $view $key
    $doc.files[$file] = $content
    $script:Dirty = $true
    return $content
}

# No temporary file here: the text without a file in the document.
function Reg-ExportText([string]$view, [string]$key) {
    if (-not (Reg-KeyExists $view $key)) { return [ordered]@{ exists = $false; content = '' } }
    return [ordered]@{ exists = $true; content = (File-ExportText $view $key) }
}

function Reg-Write([string]$view, [string]$key, [string]$name, $value) {
    $raw = ConvertTo-Raw $value
    $created = @()
    $doc = Load-Doc
    $logical = Get-Ancestors $key
    foreach ($p in $logical) {
        $phys = File-Physical $view $p
        if ($null -eq (File-FindKey $phys)) {
            foreach ($a in (Get-Ancestors $phys)) {
                if ($null -eq (File-FindKey $a)) { $doc.registry[$a] = [ordered]@{}; File-Touch $a; $created += $a }
            }
        }
    }
    $path = File-FindKey (File-Physical $view $key)
    $values = $doc.registry[$path]
    $existing = File-FindName $values $name
    if ($null -eq $existing) { $existing = $name }
    $values[$existing] = ConvertFrom-Raw $script:KindOf[[string]$value.type] $raw
    File-Touch $path
    return ,$created
}

function Reg-RemoveTree([string]$view, [string]$key) {
    $doc = Load-Doc
    $path = File-FindKey (File-Physical $view $key)
    foreach ($k in @($doc.registry.Keys)) {
        if ($k -eq $path -or $k.StartsWith("$path\", [StringComparison]::OrdinalIgnoreCase)) { $doc.registry.Remove($k); if ($doc.keyTimes.Contains($k)) { $doc.keyTimes.Remove($k) } }
    }
    $parent = $path.Substring(0, [Math]::Max(0, $path.LastIndexOf('\')))
    if ($parent) { File-Touch $parent }
    $script:Dirty = $true
}

# ---------- host facts from the document ----------

function Copy-Fields($fields) {
    $r = [ordered]@{}
    foreach ($k in @($fields.Keys)) { $r[$k] = $fields[$k] }
    return $r
}

function Get-BootTime { return [string](Load-Doc).bootTime }

function Get-OsInfo { return (Copy-Fields (Load-Doc).os) }

function Get-Hotfixes { return ,@((Load-Doc).hotfixes) }

# What a real server reports: installed, and System.dll's path and version (the document's other
# fields, if an older format carries any, are not part of the answer). The op's key, name and data
# are the agent's to read; the document says installed or not, as the simulated host does.
function Get-Dotnet35Tls($op) {
    $doc = Load-Doc
    if (-not $doc.Contains('dotnet35')) { return [ordered]@{ installed = $false; file = $null; version = $null } }
    $d = $doc.dotnet35
    return [ordered]@{ installed = [bool]$d.installed; file = $d.file; version = $d.version }
}

function Get-SqlInstances { return ,@((Load-Doc).sqlInstances) }

function Get-OrchestratorInfo { return (Copy-Fields (Load-Doc).orchestrator) }

function Get-ServiceStatus([string]$serviceName) {
    $services = (Load-Doc).services
    if (-not $services.Contains($serviceName)) { return [ordered]@{ name = $serviceName; exists = $false; state = 'absent'; startType = $null } }
    $svc = $services[$serviceName]
    $state = [string]$svc.state
    if ($state -eq 'starting' -and $svc.Contains('readyAt')) {
        $ready = [DateTime]::Parse([string]$svc.readyAt, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::RoundtripKind).ToUniversalTime()
        if ([DateTime]::UtcNow -ge $ready) { $state = 'running' }
    }
    return [ordered]@{ name = $serviceName; exists = $true; state = $state; startType = [string]$svc.startType }
}

# A simulated restart is instant: the document boots at once (a new boot time, the protocols its
# services acquire re-read, services by start type). As the simulated host does, a new boot is never within the boot-time
# tolerance of the last. No shutdown.exe runs here: a pending shutdown is the document's, answered with
# the fields the agent gives for the op's pendingCodes (scheduled, inProgress), as the simulated host does.
function Invoke-Restart($op) {
    $doc = Load-Doc
    if ($doc.Contains('pendingShutdown') -and $null -ne $doc.pendingShutdown) {
        if ($doc.pendingShutdown.Contains('inProgress') -and $doc.pendingShutdown.inProgress) { return [ordered]@{ requested = $false; alreadyRestarted = $false; shutdownInProgress = $true } }
        return [ordered]@{ requested = $false; alreadyRestarted = $false; pendingShutdown = $true }
    }
    $next = [DateTime]::UtcNow
    $last = [DateTime]::Parse([string]$doc.bootTime, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::RoundtripKind).ToUniversalTime().AddSeconds(10)
    if ($last -gt $next) { $next = $last }
    $doc.bootTime = $next.ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [Globalization.CultureInfo]::InvariantCulture)
    $doc.restarts = [int]$doc.restarts + 1
    $doc.inEffect = Get-Protocols
    foreach ($svc in $doc.services.Values) { if ($svc.startType -eq 'auto') { $svc.state = 'running' } else { $svc.state = 'stopped' } }
    # LogonUI's volatile key: gone with the restart, created again at once unless this host never does.
    $logonKey = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked'
    if ($doc.registry.Contains($logonKey) -and $doc.Contains('logonUi') -and $null -ne $doc.logonUi -and $null -eq $doc.logonUi.afterMs) { $doc.registry.Remove($logonKey) }
    # The System log's shutdown event, with the comment (restart.shutdown-event), as the simulated host keeps it.
    if (-not $doc.Contains('shutdownEvents')) { $doc['shutdownEvents'] = @() }
    if ($null -ne $doc.shutdownEvents) { $doc.shutdownEvents = @($doc.shutdownEvents) + @([ordered]@{ time = (Get-IsoNow); comment = [string]$op.reason }) }
    $script:Dirty = $true
    return [ordered]@{ requested = $true; alreadyRestarted = $false }
}

# The document's shutdown events (null: a log that cannot be read), as the simulated host answers.
function Get-RestartHistory($op) {
    $doc = Load-Doc
    if (-not $doc.Contains('shutdownEvents')) { return [ordered]@{ readable = $true; restarts = @() } }
    if ($null -eq $doc.shutdownEvents) { return [ordered]@{ readable = $false; restarts = @() } }
    $style = [Globalization.DateTimeStyles]::RoundtripKind
    $culture = [Globalization.CultureInfo]::InvariantCulture
    $since = [DateTime]::Parse([string]$op.since, $culture, $style).ToUniversalTime()
    $found = New-Object System.Collections.ArrayList
    foreach ($e in @($doc.shutdownEvents)) {
        $at = [DateTime]::Parse([string]$e.time, $culture, $style).ToUniversalTime()
        if ([string]$e.comment -ceq [string]$op.comment -and $at -gt $since) { [void]$found.Add([ordered]@{ time = [string]$e.time; comment = [string]$e.comment }) }
    }
    return [ordered]@{ readable = $true; restarts = $found.ToArray() }
}

# The host's own SQL Server instances answer (the instant boot has started them); others as the
# document's sqlServers says (absent: they answer).
function Test-SqlAnswer([string]$server, [int]$timeoutSeconds) {
    $doc = Load-Doc
    $parts = $server.ToLowerInvariant().Split('\')
    $instance = 'mssqlserver'
    if ($parts.Length -gt 1) { $instance = $parts[1] }
    if (@('.', 'localhost', '(local)', ([string]$doc.name).ToLowerInvariant()) -contains $parts[0]) {
        foreach ($i in @($doc.sqlInstances)) { if (([string]$i.name).ToLowerInvariant() -eq $instance) { return [ordered]@{ answered = $true; detail = 'connected' } } }
        return [ordered]@{ answered = $false; detail = "no instance $instance on this host" }
    }
    if ($doc.Contains('sqlServers') -and $null -ne $doc.sqlServers -and $doc.sqlServers.Contains($server.ToLowerInvariant())) {
        if ($doc.sqlServers[$server.ToLowerInvariant()]) { return [ordered]@{ answered = $true; detail = 'connected' } }
        return [ordered]@{ answered = $false; detail = 'no answer (simulated)' }
    }
    return [ordered]@{ answered = $true; detail = 'connected' }
}

function Register-StartupTask([string]$taskName, $command) {
    $doc = Load-Doc
    $changed = -not $doc.startupTasks.Contains($taskName)
    $doc.startupTasks[$taskName] = @($command)
    $script:Dirty = $true
    return $changed
}

function Unregister-StartupTask([string]$taskName) {
    $doc = Load-Doc
    $changed = $doc.startupTasks.Contains($taskName)
    if ($changed) { $doc.startupTasks.Remove($taskName); $script:Dirty = $true }
    return $changed
}

function Assert-Backend {
    if (-not $script:HostFile) { throw (New-AgentError 'permanent' 'the file-backed backend needs RUNBOOK_AGENT_HOST_FILE: a simulated-host file') }
}

# Saves the document; a simulated host's latency comes after the work, so that a connection dropped
# meanwhile loses the answer but not the effect (as when a restart takes the connection down).
# The document is read again for the next batch of a session: the host file is the simulated host's
# state, which others (the simulator's clock, a test) change between batches.
function Complete-Batch {
    Save-Doc
    $latency = 0
    if ($null -ne $script:Doc -and $script:Doc.Contains('latencyMs')) { $latency = [int]$script:Doc.latencyMs }
    $script:Doc = $null
    $script:Dirty = $false
    if ($latency -gt 0) { Start-Sleep -Milliseconds $latency }
}
