# runbook-engine agent: one fixed program. It reads requests, one JSON document per line of standard
# input (or one, as its first argument, under PowerShell remoting),
#   { "marker": "<random>", "ops": [ { "op": "registry.get", ... }, ... ] }
# carries out each request's typed host operations in order, and writes one JSON answer per request,
# framed by its marker, before reading the next line:
#   RBE-BEGIN <marker>
#   { "ok": true, "results": [ ... ] }      or      { "ok": false, "error": { ... } }
#   RBE-END <marker>
# A client that sends one request and closes standard input gets one answer; a session keeps the
# input open and sends the next request when the answer came, so PowerShell starts once per session.
# Values, registry paths and names are only ever data here; nothing read is executed.
# Runs on Windows PowerShell 5.1 and PowerShell 7 (no ternary, no ??, no && / ||, no clean blocks).
# Its one backend is Windows: the registry, CIM, services, shutdown.exe, scheduled tasks. The tests'
# file-backed backend lives in agent-file-backend.ps1, which the controller joins in (where the
# marker line below says) only when asked to; it redefines the backend functions, nothing else.

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

function New-AgentError([string]$kind, [string]$message) {
    $e = New-Object System.Exception $message
    $e.Data['kind'] = $kind
    return $e
}

# ---------- JSON helpers (ConvertFrom-Json gives PSCustomObject on 5.1) ----------

# JSON in, with no value converted. Windows PowerShell 5.1's ConvertFrom-Json keeps ISO-date-looking
# strings as strings; PowerShell 6.0 to 7.4 turn them into DateTime (7.5 and later unless told
# -DateKind String), which would rewrite a string value and break the restart's boot-time guard. From
# 6.0 on, the request is therefore read with the Newtonsoft.Json that PowerShell itself ships, with
# date parsing off: every string stays the string it was.
function ConvertFrom-JToken($token) {
    # Type tests, not $token.Type: PowerShell reads a property of a JObject as one of its keys.
    if ($token -is [Newtonsoft.Json.Linq.JObject]) {
        $h = [ordered]@{}
        foreach ($p in $token.Properties()) { $h[$p.Name] = ConvertFrom-JToken $p.Value }
        return $h
    }
    if ($token -is [Newtonsoft.Json.Linq.JArray]) {
        $list = New-Object System.Collections.ArrayList
        foreach ($item in $token.Children()) { [void]$list.Add((ConvertFrom-JToken $item)) }
        return ,($list.ToArray())
    }
    return $token.Value
}

# True on Windows PowerShell (5.1): its ConvertFrom-Json path is taken, and Newtonsoft is not there.
function Test-WindowsPowerShell { return ($PSVersionTable.PSVersion.Major -lt 6) }

function Read-JsonText([string]$text) {
    if (Test-WindowsPowerShell) { return ConvertTo-Plain (ConvertFrom-Json -InputObject $text) }
    $reader = New-Object Newtonsoft.Json.JsonTextReader (New-Object System.IO.StringReader $text)
    $reader.DateParseHandling = [Newtonsoft.Json.DateParseHandling]::None
    return ConvertFrom-JToken ([Newtonsoft.Json.Linq.JToken]::ReadFrom($reader))
}

# The console's encodings, set by the main block (functions, so that the tests can stand in for a
# process without a console).
function Set-ConsoleInputEncoding($encoding) { [Console]::InputEncoding = $encoding }
function Set-ConsoleOutputEncoding($encoding) { [Console]::OutputEncoding = $encoding }

function Get-IsoNow { return [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [Globalization.CultureInfo]::InvariantCulture) }

function ConvertTo-Plain($value) {
    if ($null -eq $value) { return $null }
    if ($value -is [System.Collections.IDictionary]) { return $value }
    if ($value -is [System.Management.Automation.PSCustomObject]) {
        $h = [ordered]@{}
        foreach ($p in $value.PSObject.Properties) { $h[$p.Name] = ConvertTo-Plain $p.Value }
        return $h
    }
    if (($value -is [System.Collections.IEnumerable]) -and -not ($value -is [string])) {
        $list = New-Object System.Collections.ArrayList
        foreach ($item in $value) { [void]$list.Add((ConvertTo-Plain $item)) }
        return ,($list.ToArray())
    }
    return $value
}

function Sort-Dictionary($dict) {
    $sorted = [ordered]@{}
    foreach ($k in @($dict.Keys | Sort-Object -CaseSensitive)) { $sorted[$k] = $dict[$k] }
    return $sorted
}

# ---------- registry values: .NET kinds and raw data <-> typed JSON values ----------

$script:KindOf = @{ 'REG_DWORD' = 'DWord'; 'REG_QWORD' = 'QWord'; 'REG_SZ' = 'String'; 'REG_EXPAND_SZ' = 'ExpandString'; 'REG_MULTI_SZ' = 'MultiString'; 'REG_BINARY' = 'Binary' }
$script:TypeOf = @{ 'DWord' = 'REG_DWORD'; 'QWord' = 'REG_QWORD'; 'String' = 'REG_SZ'; 'ExpandString' = 'REG_EXPAND_SZ'; 'MultiString' = 'REG_MULTI_SZ'; 'Binary' = 'REG_BINARY' }

# .NET returns a DWORD as Int32 (0xFFFFFFFF reads as -1): compare and report it as unsigned 32-bit.
function ConvertFrom-Raw([string]$kind, $raw) {
    switch ($kind) {
        'DWord' { return [ordered]@{ type = 'REG_DWORD'; data = [BitConverter]::ToUInt32([BitConverter]::GetBytes([int32]$raw), 0) } }
        'QWord' { return [ordered]@{ type = 'REG_QWORD'; data = ([BitConverter]::ToUInt64([BitConverter]::GetBytes([int64]$raw), 0)).ToString() } }
        'String' { return [ordered]@{ type = 'REG_SZ'; data = [string]$raw } }
        'ExpandString' { return [ordered]@{ type = 'REG_EXPAND_SZ'; data = [string]$raw } }
        'MultiString' { return [ordered]@{ type = 'REG_MULTI_SZ'; data = @([string[]]$raw) } }
        'Binary' { return [ordered]@{ type = 'REG_BINARY'; data = (([byte[]]$raw | ForEach-Object { $_.ToString('x2') }) -join '') } }
    }
    throw (New-AgentError 'permanent' "unsupported registry value kind $kind")
}

function ConvertTo-Raw($value) {
    $type = [string]$value.type
    if (-not $script:KindOf.ContainsKey($type)) { throw (New-AgentError 'permanent' "unsupported registry type $type") }
    switch ($type) {
        'REG_DWORD' {
            $n = [uint64]$value.data
            if ($n -gt [uint32]::MaxValue) { throw (New-AgentError 'permanent' "DWORD out of range: $n") }
            return [BitConverter]::ToInt32([BitConverter]::GetBytes([uint32]$n), 0)
        }
        'REG_QWORD' { return [BitConverter]::ToInt64([BitConverter]::GetBytes([uint64]::Parse([string]$value.data)), 0) }
        'REG_MULTI_SZ' { return [string[]]@($value.data) }
        'REG_BINARY' {
            $hex = [string]$value.data
            $bytes = New-Object byte[] ($hex.Length / 2)
            for ($i = 0; $i -lt $bytes.Length; $i++) { $bytes[$i] = [Convert]::ToByte($hex.Substring($i * 2, 2), 16) }
            return ,$bytes
        }
        default { return [string]$value.data }
    }
}

function Test-SameValue($a, $b) {
    if ($null -eq $a -or $null -eq $b) { return ($null -eq $a -and $null -eq $b) }
    $ja = ConvertTo-Json -InputObject $a -Depth 5 -Compress
    $jb = ConvertTo-Json -InputObject $b -Depth 5 -Compress
    return $ja -ceq $jb
}

function Get-CleanKey([string]$key) { return $key.Trim('\') }

function Get-Ancestors([string]$key) {
    $parts = (Get-CleanKey $key).Split('\')
    $out = @()
    for ($i = 1; $i -le $parts.Length; $i++) { $out += ($parts[0..($i - 1)] -join '\') }
    return $out
}

# ---------- backend: the Windows registry ----------

function Open-Base([string]$view) {
    $v = [Microsoft.Win32.RegistryView]::Registry64
    if ($view -eq '32') { $v = [Microsoft.Win32.RegistryView]::Registry32 }
    return [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, $v)
}

function Win-OpenKey([string]$view, [string]$key, [bool]$writable) {
    $base = Open-Base $view
    return $base.OpenSubKey((Get-CleanKey $key), $writable)
}

# ---------- registry operations ----------


function Reg-KeyExists([string]$view, [string]$key) {
    $k = Win-OpenKey $view $key $false
    if ($null -eq $k) { return $false }
    $k.Close()
    return $true
}

function Reg-Read([string]$view, [string]$key, [string]$name) {
    $k = Win-OpenKey $view $key $false
    if ($null -eq $k) { return $null }
    try {
        if (-not (@($k.GetValueNames()) -contains $name)) { return $null }
        $kind = $k.GetValueKind($name).ToString()
        $raw = $k.GetValue($name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
        return ConvertFrom-Raw $kind $raw
    } finally { $k.Close() }
}

function Reg-Write([string]$view, [string]$key, [string]$name, $value) {
    $raw = ConvertTo-Raw $value
    $created = @()
    foreach ($p in (Get-Ancestors $key)) { if (-not (Reg-KeyExists $view $p)) { $created += $p } }
    $base = Open-Base $view
    $k = $base.CreateSubKey((Get-CleanKey $key))
    try {
        $kind = [Microsoft.Win32.RegistryValueKind]$script:KindOf[[string]$value.type]
        $k.SetValue($name, $raw, $kind)
    } finally { $k.Close() }
    return ,$created
}

function Reg-DeleteValue([string]$view, [string]$key, [string]$name) {
    $k = Win-OpenKey $view $key $true
    if ($null -eq $k) { return }
    try { $k.DeleteValue($name, $false) } finally { $k.Close() }
}

function Reg-KeyInfo([string]$view, [string]$key) {
    $k = Win-OpenKey $view $key $false
    if ($null -eq $k) { return [ordered]@{ exists = $false; lastWriteTime = $null; subkeys = @(); values = @() } }
    try {
        return [ordered]@{ exists = $true; lastWriteTime = (Get-KeyLastWrite $k); subkeys = @($k.GetSubKeyNames()); values = @($k.GetValueNames()) }
    } finally { $k.Close() }
}

function Get-KeyLastWrite($k) {
    if (-not ('RunbookEngine.RegInfo' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
namespace RunbookEngine {
  public static class RegInfo {
    [DllImport("advapi32.dll", CharSet = CharSet.Unicode)]
    static extern int RegQueryInfoKey(SafeRegistryHandle hKey, IntPtr c, IntPtr cc, IntPtr r, IntPtr sk, IntPtr msk, IntPtr mc, IntPtr v, IntPtr mvn, IntPtr mvl, IntPtr sd, out long lastWrite);
    public static DateTime LastWrite(SafeRegistryHandle h) {
      long ft; int rc = RegQueryInfoKey(h, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out ft);
      if (rc != 0) throw new System.ComponentModel.Win32Exception(rc);
      return DateTime.FromFileTimeUtc(ft);
    }
  }
}
'@
    }
    return [RunbookEngine.RegInfo]::LastWrite($k.Handle).ToString('o')
}

function Reg-DeleteKey([string]$view, [string]$key, [bool]$onlyIfEmpty) {
    $info = Reg-KeyInfo $view $key
    if (-not $info.exists) { return [ordered]@{ changed = $false; reason = 'absent' } }
    $empty = (@($info.subkeys).Count -eq 0) -and (@($info.values).Count -eq 0)
    if ($onlyIfEmpty -and -not $empty) { return [ordered]@{ changed = $false; reason = 'not-empty' } }
    Reg-RemoveTree $view $key
    return [ordered]@{ changed = $true }
}

function Reg-RemoveTree([string]$view, [string]$key) {
    $base = Open-Base $view
    $base.DeleteSubKeyTree((Get-CleanKey $key), $false)
}

function Reg-Export([string]$view, [string]$key, [string]$file) {
    $flag = '/reg:64'
    if ($view -eq '32') { $flag = '/reg:32' }
    $r = Invoke-Native 'reg.exe' @('export', ('HKLM\' + (Get-CleanKey $key)), $file, $flag, '/y')
    if ($r.exitCode -ne 0) { throw (New-AgentError 'permanent' "reg export failed ($($r.exitCode)): $($r.stderr.Trim())") }
    return [System.IO.File]::ReadAllText($file, [System.Text.Encoding]::Unicode)
}

# What Reg-Export would write, read through a temporary file that is deleted: nothing is left on the
# target. A missing key has no text (reg export would fail on it).
function Reg-ExportText([string]$view, [string]$key) {
    if (-not (Reg-KeyExists $view $key)) { return [ordered]@{ exists = $false; content = '' } }
    $file = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), ('runbook-' + [Guid]::NewGuid().ToString('N') + '.reg'))
    try {
        return [ordered]@{ exists = $true; content = (Reg-Export $view $key $file) }
    } finally {
        Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
    }
}

function Get-ExistingAncestor([string]$view, [string]$key) {
    $deepest = ''
    foreach ($p in (Get-Ancestors $key)) { if (Reg-KeyExists $view $p) { $deepest = $p } }
    return $deepest
}

# ---------- native programs ----------

# One argument quoted for a Windows command line as CommandLineToArgvW splits it (src/windows/facts/
# powershell.ts, powershell.command-line-quoting): backslashes are literal unless a quotation mark
# follows them, so those before a quotation mark (the argument's own, or the closing one) are doubled.
# C:\state\ becomes "C:\state\\", which a program reads back as C:\state\.
function ConvertTo-QuotedArgument([string]$value) {
    if ($value.Length -gt 0 -and $value.IndexOfAny([char[]]@(' ', "`t", "`n", '"')) -lt 0) { return $value }
    $sb = New-Object System.Text.StringBuilder
    [void]$sb.Append('"')
    $slashes = 0
    foreach ($c in $value.ToCharArray()) {
        if ($c -eq [char]'\') { $slashes++; continue }
        if ($c -eq [char]'"') { [void]$sb.Append([char]'\', 2 * $slashes + 1) } elseif ($slashes -gt 0) { [void]$sb.Append([char]'\', $slashes) }
        $slashes = 0
        [void]$sb.Append($c)
    }
    if ($slashes -gt 0) { [void]$sb.Append([char]'\', 2 * $slashes) }
    [void]$sb.Append('"')
    return $sb.ToString()
}

function ConvertTo-ArgumentLine($arguments) {
    return ((@($arguments) | ForEach-Object { ConvertTo-QuotedArgument ([string]$_) }) -join ' ')
}

# Runs a native program and returns its exit code and both streams as text. Through
# System.Diagnostics.Process, not PowerShell's native command processor: Windows PowerShell 5.1 turns
# a native program's redirected standard error into error records and, under
# $ErrorActionPreference = 'Stop', throws at its first line (powershell.native-stderr-under-stop).
# Nothing here reaches PowerShell's error stream, on 5.1 and 7 alike.
function Invoke-Native([string]$file, $arguments) {
    $info = New-Object System.Diagnostics.ProcessStartInfo
    $info.FileName = $file
    $info.Arguments = ConvertTo-ArgumentLine $arguments
    $info.UseShellExecute = $false
    $info.CreateNoWindow = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $process = [System.Diagnostics.Process]::Start($info)
    try {
        # Standard error is read while standard output is: a full pipe would block the program.
        $errTask = $process.StandardError.ReadToEndAsync()
        $stdout = $process.StandardOutput.ReadToEnd()
        $process.WaitForExit()
        return [ordered]@{ exitCode = $process.ExitCode; stdout = $stdout; stderr = $errTask.Result }
    } finally { $process.Dispose() }
}

# ---------- host facts: one function per operation, so that a backend can stand in for each ----------

function Get-BootTime {
    return (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime.ToUniversalTime().ToString('o')
}

# WMI computes LastBootUpTime from the clock and the uptime: readings of one boot differ by
# milliseconds. True only when both readings are times at least $toleranceMs apart (the op's
# toleranceMs, BOOT_TIME_TOLERANCE_MS): the host is proven to have booted since. A reading that is not
# a time, or no tolerance, proves nothing, and never skips a restart (src/windows/boot-time.ts,
# restartedSince, says the same).
function Test-RestartedSince([string]$current, [string]$baseline, $toleranceMs) {
    if ($null -eq $toleranceMs) { return $false }
    $style = [Globalization.DateTimeStyles]::RoundtripKind
    $culture = [Globalization.CultureInfo]::InvariantCulture
    $now = [DateTime]::MinValue
    $before = [DateTime]::MinValue
    if (-not [DateTime]::TryParse($current, $culture, $style, [ref]$now)) { return $false }
    if (-not [DateTime]::TryParse($baseline, $culture, $style, [ref]$before)) { return $false }
    return ([Math]::Abs(($now.ToUniversalTime() - $before.ToUniversalTime()).TotalMilliseconds) -ge [double]$toleranceMs)
}

# What SCHANNEL negotiates by default per side, from the values set now (src/windows/schannel.ts says
# the same): Enabled=0 or DisabledByDefault=1 -> false; Enabled non-zero -> true; no Enabled -> null
# (Windows' default). A value of another type than DWORD counts as absent.
function Get-Protocols {
    $map = [ordered]@{}
    foreach ($p in @('SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2')) {
        $sides = [ordered]@{}
        foreach ($s in @('Client', 'Server')) {
            $key = "SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\$p\$s"
            $enabled = Reg-Read '64' $key 'Enabled'
            $dbd = Reg-Read '64' $key 'DisabledByDefault'
            $state = $null
            if ($null -ne $enabled -and $enabled.type -eq 'REG_DWORD') { $state = ([int64]$enabled.data -ne 0) }
            if ($state -ne $false -and $null -ne $dbd -and $dbd.type -eq 'REG_DWORD' -and [int64]$dbd.data -eq 1) { $state = $false }
            $sides[$s] = $state
        }
        $map[$p] = $sides
    }
    return $map
}

function Get-OsInfo {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $type = 'server'
    if ($os.ProductType -eq 1) { $type = 'workstation' }
    $arch = '32-bit'
    if ([Environment]::Is64BitOperatingSystem) { $arch = '64-bit' }
    return [ordered]@{ caption = [string]$os.Caption; version = [string]$os.Version; build = [int]$os.BuildNumber; architecture = $arch; productType = $type; servicePack = [int]$os.ServicePackMajorVersion }
}

function Get-Hotfixes {
    return ,@(Get-CimInstance -ClassName Win32_QuickFixEngineering | ForEach-Object { [string]$_.HotFixID })
}

# .NET Framework 3.5 for the TLS System Default Versions fix: installed when the op's key and name
# (the fact dotnet.v35-install-key: NDP\v3.5 Install) hold the op's data (1) as a DWORD, and the 2.0
# runtime's System.dll version as evidence. Nothing is searched for in the file: SslProtocolsExtensions
# is a type applications add to their own code, and no file version of the fix is published.
function Get-Dotnet35Tls($op) {
    if (-not ($op.Contains('key') -and $op.Contains('name') -and $op.Contains('data'))) {
        throw (New-AgentError 'permanent' "dotnet35.tls needs the op's key, name and data (the fact dotnet.v35-install-key); send them with the op")
    }
    $install = Reg-Read '64' ([string]$op.key) ([string]$op.name)
    $installed = ($null -ne $install -and $install.type -eq 'REG_DWORD' -and [long]$install.data -eq [long]$op.data)
    $framework = 'Framework'
    if ([Environment]::Is64BitOperatingSystem) { $framework = 'Framework64' }
    $file = Join-Path $env:WINDIR "Microsoft.NET\$framework\v2.0.50727\System.dll"
    if (-not (Test-Path -LiteralPath $file)) { return [ordered]@{ installed = $installed; file = $null; version = $null } }
    $version = [string](Get-Item -LiteralPath $file).VersionInfo.FileVersion
    if ($version -eq '') { $version = $null }
    return [ordered]@{ installed = $installed; file = $file; version = $version }
}

# Both views: a 32-bit SQL Server on 64-bit Windows registers under Wow6432Node. Named instances are
# values of Instance Names\SQL like the default one (MSSQLSERVER).
function Get-SqlInstances {
    $list = @()
    $names = 'SOFTWARE\Microsoft\Microsoft SQL Server\Instance Names\SQL'
    $seen = @{}
    foreach ($view in @('64', '32')) {
        $k = Win-OpenKey $view $names $false
        if ($null -eq $k) { continue }
        foreach ($instance in $k.GetValueNames()) {
            $id = [string]$k.GetValue($instance)
            if ($seen.ContainsKey($id)) { continue }
            $seen[$id] = $true
            $setup = "SOFTWARE\Microsoft\Microsoft SQL Server\$id\Setup"
            $version = Reg-Read $view $setup 'PatchLevel'
            if ($null -eq $version) { $version = Reg-Read $view $setup 'Version' }
            $edition = Reg-Read $view $setup 'Edition'
            $entry = [ordered]@{ name = $instance; version = '' }
            if ($null -ne $version) { $entry.version = [string]$version.data }
            if ($null -ne $edition) { $entry.edition = [string]$edition.data }
            $list += $entry
        }
        $k.Close()
    }
    return ,$list
}

function Get-OrchestratorInfo {
    $found = $null
    foreach ($view in @('64', '32')) {
        $root = Win-OpenKey $view 'SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall' $false
        if ($null -eq $root) { continue }
        foreach ($sub in $root.GetSubKeyNames()) {
            $display = Reg-Read $view "SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\$sub" 'DisplayName'
            if ($null -ne $display -and ([string]$display.data) -like '*Orchestrator*Management Server*') {
                $version = Reg-Read $view "SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\$sub" 'DisplayVersion'
                $found = [ordered]@{ name = [string]$display.data; version = $null }
                if ($null -ne $version) { $found.version = [string]$version.data }
            }
        }
        $root.Close()
    }
    if ($null -eq $found) { return [ordered]@{ installed = $false; release = $null; updateRollup = 0; version = $null } }
    $release = $null
    foreach ($r in @('2025', '2022', '2019', '1807', '1801', '2016', '2012 R2', '2012')) { if ($found.name -like "*$r*") { $release = $r; break } }
    # The Update Rollup is not in the product name; -1 tells the preflight that it is unknown.
    return [ordered]@{ installed = $true; release = $release; updateRollup = -1; version = $found.version }
}

function Get-ServiceStatus([string]$serviceName) {
    $s = Get-Service -Name $serviceName -ErrorAction SilentlyContinue
    if ($null -eq $s) { return [ordered]@{ name = $serviceName; exists = $false; state = 'absent'; startType = $null } }
    $state = 'stopped'
    if ($s.Status -eq 'Running') { $state = 'running' } elseif ($s.Status -eq 'StartPending') { $state = 'starting' }
    # StartType: Automatic (delayed start included), Manual, Disabled (boot and system drivers do not apply).
    $startType = 'manual'
    if ([string]$s.StartType -eq 'Automatic') { $startType = 'auto' } elseif ([string]$s.StartType -eq 'Disabled') { $startType = 'disabled' }
    return [ordered]@{ name = $serviceName; exists = $true; state = $state; startType = $startType }
}

# The protocols the values set now make SCHANNEL negotiate. Microsoft: changes apply to credential
# handles acquired after them, "an application or service restart may be required" - not that SCHANNEL
# reads its keys only at boot. Key write times prove nothing (a Group Policy refresh rewrites the keys
# unchanged): what a running service does is for a handshake to show.
function Get-TlsInEffect {
    return (Get-Protocols)
}

# The restart itself, once the boot-time guard has passed.
function Invoke-Restart($op) {
    # /f: applications that would block the restart are closed (a restart the run depends on must happen).
    $shutdownArgs = @('/r', '/f', '/t', [string][int]$op.delaySeconds)
    # /d p:<major>:<minor>: Windows logs a planned restart, with its reason (restart.planned-reason).
    if ($op.Contains('plannedReason') -and $null -ne $op.plannedReason) {
        $shutdownArgs += @('/d', ('p:{0}:{1}' -f [int]$op.plannedReason.major, [int]$op.plannedReason.minor))
    }
    $shutdownArgs += @('/c', [string]$op.reason)
    $r = Invoke-Native 'shutdown.exe' $shutdownArgs
    # The exit codes come with the op (pendingCodes, from the facts table); without them, none is pending.
    $hasCodes = $op.Contains('pendingCodes') -and $null -ne $op.pendingCodes
    # Scheduled (ERROR_SHUTDOWN_IS_SCHEDULED): someone else's shutdown is pending. It is theirs: never
    # cancelled here; the step reports it and waits for it or fails, as its parameter says.
    if ($hasCodes -and $r.exitCode -eq [int]$op.pendingCodes.scheduled) { return [ordered]@{ requested = $false; alreadyRestarted = $false; pendingShutdown = $true } }
    # In progress (ERROR_SHUTDOWN_IN_PROGRESS): a shutdown is already under way; it is the restart.
    if ($hasCodes -and $r.exitCode -eq [int]$op.pendingCodes.inProgress) { return [ordered]@{ requested = $false; alreadyRestarted = $false; shutdownInProgress = $true } }
    if ($r.exitCode -ne 0) { throw (New-AgentError 'permanent' "shutdown.exe failed with exit code $($r.exitCode): $($r.stderr.Trim())") }
    return [ordered]@{ requested = $true; alreadyRestarted = $false }
}

# The restarts initiated since $op.since whose shutdown comment is $op.comment: Windows logs each
# restart a process asks for in the System log, with the comment given to shutdown.exe /c ($op.event:
# log, id and source, from the fact restart.shutdown-event). The comment counts only as a whole value of
# the event, never inside a longer one. A log that cannot be read answers readable = $false: it proves
# nothing (the step restarts as before).
function Get-RestartHistory($op) {
    $style = [Globalization.DateTimeStyles]::RoundtripKind
    $culture = [Globalization.CultureInfo]::InvariantCulture
    $since = [DateTime]::MinValue
    if (-not [DateTime]::TryParse([string]$op.since, $culture, $style, [ref]$since)) { return [ordered]@{ readable = $false; restarts = @() } }
    $comment = [string]$op.comment
    $filter = @{ LogName = [string]$op.event.log; ProviderName = [string]$op.event.provider; Id = [int]$op.event.id; StartTime = $since.ToLocalTime() }
    $events = @()
    try {
        $events = @(Get-WinEvent -FilterHashtable $filter -ErrorAction Stop)
    } catch {
        # No event since then is an answer (none); anything else is a log that could not be read.
        if (-not ([string]$_.FullyQualifiedErrorId).StartsWith('NoMatchingEventsFound')) { return [ordered]@{ readable = $false; restarts = @() } }
    }
    $found = New-Object System.Collections.ArrayList
    foreach ($e in $events) {
        $matched = $false
        foreach ($p in @($e.Properties)) { if ([string]$p.Value -ceq $comment) { $matched = $true } }
        if ($matched) { [void]$found.Add([ordered]@{ time = $e.TimeCreated.ToUniversalTime().ToString('o'); comment = $comment }) }
    }
    return [ordered]@{ readable = $true; restarts = $found.ToArray() }
}

# Whether a SQL Server answers from here, with this account's Windows credentials. An error among
# $answeredErrors (the op's answeredErrors, the fact sql.login-refused-errors: a login or database
# refused) is an answer: the server is up; without them, only a connection is. The connection string is
# built with SqlConnectionStringBuilder: the server name stays one value, whatever it holds.
function Test-SqlAnswer([string]$server, [int]$timeoutSeconds, $answeredErrors) {
    $builder = New-Object System.Data.SqlClient.SqlConnectionStringBuilder
    $builder['Data Source'] = $server
    $builder['Integrated Security'] = $true
    $builder['Connect Timeout'] = [Math]::Max(1, $timeoutSeconds)
    $builder['Pooling'] = $false
    $connection = New-Object System.Data.SqlClient.SqlConnection ($builder.ConnectionString)
    try {
        $connection.Open()
        return [ordered]@{ answered = $true; detail = 'connected' }
    } catch {
        $inner = $_.Exception
        while ($null -ne $inner.InnerException -and -not ($inner -is [System.Data.SqlClient.SqlException])) { $inner = $inner.InnerException }
        if ($inner -is [System.Data.SqlClient.SqlException] -and (@($answeredErrors | ForEach-Object { [int]$_ }) -contains $inner.Number)) {
            return [ordered]@{ answered = $true; detail = "it answered and refused this account (error $($inner.Number))" }
        }
        return [ordered]@{ answered = $false; detail = $inner.Message }
    } finally { $connection.Dispose() }
}

# A task at start-up, as SYSTEM, logged on as a service account (no password is stored; the task runs
# whether or not anyone logs on). Its arguments are quoted for CommandLineToArgvW, so that a state
# directory ending in \ arrives as it was given. The ScheduledTasks module is missing on some servers
# (Server Core without it, older images): schtasks.exe does the same there.
function Register-StartupTask([string]$taskName, $command) {
    $arguments = ConvertTo-ArgumentLine @($command | Select-Object -Skip 1)
    if (Get-Command -Name Register-ScheduledTask -ErrorAction SilentlyContinue) {
        $existing = Get-ScheduledTask -TaskName $taskName -ErrorAction SilentlyContinue
        $action = New-ScheduledTaskAction -Execute ([string]$command[0]) -Argument $arguments
        $trigger = New-ScheduledTaskTrigger -AtStartup
        $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
        Register-ScheduledTask -TaskName $taskName -Action $action -Trigger $trigger -Principal $principal -Force | Out-Null
        return ($null -eq $existing)
    }
    $existed = ((Invoke-Native 'schtasks.exe' @('/Query', '/TN', $taskName)).exitCode -eq 0)
    $line = (ConvertTo-QuotedArgument ([string]$command[0])) + ' ' + $arguments
    $r = Invoke-Native 'schtasks.exe' @('/Create', '/F', '/TN', $taskName, '/SC', 'ONSTART', '/RU', 'SYSTEM', '/RL', 'HIGHEST', '/TR', $line)
    if ($r.exitCode -ne 0) { throw (New-AgentError 'permanent' "schtasks.exe /Create failed with exit code $($r.exitCode): $($r.stderr.Trim())") }
    return (-not $existed)
}

function Unregister-StartupTask([string]$taskName) {
    if (Get-Command -Name Unregister-ScheduledTask -ErrorAction SilentlyContinue) {
        $existing = Get-ScheduledTask -TaskName $taskName -ErrorAction SilentlyContinue
        if ($null -ne $existing) { Unregister-ScheduledTask -TaskName $taskName -Confirm:$false }
        return ($null -ne $existing)
    }
    if ((Invoke-Native 'schtasks.exe' @('/Query', '/TN', $taskName)).exitCode -ne 0) { return $false }
    $r = Invoke-Native 'schtasks.exe' @('/Delete', '/F', '/TN', $taskName)
    if ($r.exitCode -ne 0) { throw (New-AgentError 'permanent' "schtasks.exe /Delete failed with exit code $($r.exitCode): $($r.stderr.Trim())") }
    return $true
}

# This backend needs Windows.
function Assert-Backend {
    if ([System.Environment]::OSVersion.Platform -ne [System.PlatformID]::Win32NT) {
        throw (New-AgentError 'permanent' 'this machine has no Windows registry: the agent runs on Windows (the tests join a file-backed backend, agent-file-backend.ps1)')
    }
}

# Runs after every batch, whatever happened.
function Complete-Batch { }

# ---------- operations ----------

function Invoke-HostOp($op) {
    $name = [string]$op.op
    switch ($name) {
        'registry.get' {
            return [ordered]@{ op = $name; keyExists = (Reg-KeyExists $op.view $op.key); existingAncestor = (Get-ExistingAncestor $op.view $op.key); value = (Reg-Read $op.view $op.key $op.name) }
        }
        'registry.set' {
            $before = Reg-Read $op.view $op.key $op.name
            if (Test-SameValue $before (ConvertTo-Plain $op.value)) { return [ordered]@{ op = $name; changed = $false; before = $before; after = $before; createdKeys = @() } }
            $created = Reg-Write $op.view $op.key $op.name (ConvertTo-Plain $op.value)
            $after = Reg-Read $op.view $op.key $op.name
            return [ordered]@{ op = $name; changed = $true; before = $before; after = $after; createdKeys = @($created) }
        }
        'registry.deleteValue' {
            $before = Reg-Read $op.view $op.key $op.name
            if ($null -eq $before) { return [ordered]@{ op = $name; changed = $false; before = $null } }
            Reg-DeleteValue $op.view $op.key $op.name
            return [ordered]@{ op = $name; changed = $true; before = $before }
        }
        'registry.deleteKey' {
            $r = Reg-DeleteKey $op.view $op.key ([bool]$op.onlyIfEmpty)
            $r.Insert(0, 'op', $name)
            return $r
        }
        'registry.keyInfo' {
            $r = Reg-KeyInfo $op.view $op.key
            $r.Insert(0, 'op', $name)
            return $r
        }
        'registry.export' { return [ordered]@{ op = $name; file = [string]$op.file; content = (Reg-Export $op.view $op.key $op.file) } }
        'registry.exportText' {
            $r = Reg-ExportText $op.view $op.key
            $r.Insert(0, 'op', $name)
            return $r
        }
        'boot.time' { return [ordered]@{ op = $name; bootTime = (Get-BootTime) } }
        'os.info' { return (With-Op $name (Get-OsInfo)) }
        # These return their list with the unary comma, so that one or no item is still a list.
        'hotfix.list' { return [ordered]@{ op = $name; hotfixes = (Get-Hotfixes) } }
        'dotnet35.tls' { return (With-Op $name (Get-Dotnet35Tls $op)) }
        'sql.instances' { return [ordered]@{ op = $name; instances = (Get-SqlInstances) } }
        'orchestrator.info' { return (With-Op $name (Get-OrchestratorInfo)) }
        'service.status' { return (With-Op $name (Get-ServiceStatus ([string]$op.name))) }
        'tls.inEffect' { return [ordered]@{ op = $name; bootTime = (Get-BootTime); protocols = (Get-TlsInEffect) } }
        'restart' {
            $toleranceMs = $null
            if ($op.Contains('toleranceMs')) { $toleranceMs = $op.toleranceMs }
            if (Test-RestartedSince (Get-BootTime) ([string]$op.ifBootTime) $toleranceMs) { return [ordered]@{ op = $name; requested = $false; alreadyRestarted = $true } }
            return (With-Op $name (Invoke-Restart $op))
        }
        'restart.history' { return (With-Op $name (Get-RestartHistory $op)) }
        'startupTask.register' { return [ordered]@{ op = $name; changed = [bool](Register-StartupTask ([string]$op.name) @($op.command)) } }
        'startupTask.remove' { return [ordered]@{ op = $name; changed = [bool](Unregister-StartupTask ([string]$op.name)) } }
        'sql.ping' {
            $answeredErrors = @()
            if ($op.Contains('answeredErrors') -and $null -ne $op.answeredErrors) { $answeredErrors = @($op.answeredErrors) }
            $r = Test-SqlAnswer ([string]$op.server) ([int]$op.timeoutSeconds) $answeredErrors
            return [ordered]@{ op = $name; server = [string]$op.server; answered = [bool]$r.answered; detail = [string]$r.detail }
        }
    }
    throw (New-AgentError 'permanent' "unknown operation '$name'")
}

# An answer: the operation's name first, then the fields a fact function returned.
function With-Op([string]$name, $fields) {
    $r = [ordered]@{ op = $name }
    foreach ($k in @($fields.Keys)) { $r[$k] = $fields[$k] }
    return $r
}

# ---------- backend overrides are joined here (agent-file-backend.ps1, for the tests) ----------

# ---------- main: answer each request, framed ----------

# One request (its JSON text) in, its framed answer out. Nothing of one request is kept for the next.
function Invoke-AgentRequest([string]$text) {
    $marker = 'none'
    $answer = $null
    try {
        $request = Read-JsonText $text
        $marker = [string]$request.marker
        if ($marker -notmatch '^[A-Za-z0-9]{16,64}$') { throw (New-AgentError 'protocol' 'the request has no valid marker') }
        if ($PSVersionTable.PSVersion -lt [Version]'5.1') {
            throw (New-AgentError 'permanent' "PowerShell $($PSVersionTable.PSVersion) is older than 5.1: install Windows Management Framework 5.1 on the target")
        }
        $results = New-Object System.Collections.ArrayList
        $index = 0
        try {
            Assert-Backend
            foreach ($op in @($request.ops)) {
                [void]$results.Add((Invoke-HostOp $op))
                $index++
            }
            $answer = [ordered]@{ ok = $true; results = $results.ToArray() }
        } catch {
            $kind = 'permanent'
            if ($_.Exception.Data.Contains('kind')) { $kind = [string]$_.Exception.Data['kind'] }
            $answer = [ordered]@{ ok = $false; error = [ordered]@{ kind = $kind; message = $_.Exception.Message; index = $index }; results = $results.ToArray() }
        } finally {
            Complete-Batch
        }
    } catch {
        $answer = [ordered]@{ ok = $false; error = [ordered]@{ kind = 'protocol'; message = $_.Exception.Message; index = -1 }; results = @() }
    }
    return ("RBE-BEGIN $marker`n" + (ConvertTo-Json -InputObject $answer -Depth 20 -Compress) + "`nRBE-END $marker")
}

# ---------- run: the console's encodings, then the requests (everything above only defines) ----------

# Standard input and output are UTF-8 whatever the console's code page (Windows PowerShell 5.1
# defaults to the OEM code page): a non-ASCII value must not be garbled on the way in or out. The
# input encoding is changed only before anything was read (the SSH bootstrap sets it first itself).
# Where there is no console (a WinRM session), Windows PowerShell 5.1 throws "The handle is invalid"
# at the setter (powershell.no-console-output-encoding): there is no console text to encode then
# (remoting returns the answer as an object), so the agent goes on and answers.
$utf8 = New-Object System.Text.UTF8Encoding $false
try {
    if ($args.Count -eq 0 -and [Console]::InputEncoding.WebName -ne 'utf-8') { Set-ConsoleInputEncoding $utf8 }
} catch { }
try { Set-ConsoleOutputEncoding $utf8 } catch { }

if ($args.Count -gt 0) {
    # PowerShell remoting: the request is the first argument, the answer the script's output.
    Write-Output (Invoke-AgentRequest ([string]$args[0]))
} else {
    # A session (local, SSH): one request per line on standard input, each answered and flushed before
    # the next line is read, until the input ends. A request is one line: JSON escapes every newline.
    while ($true) {
        $line = [Console]::In.ReadLine()
        if ($null -eq $line) { break }
        if ($line.Trim().Length -eq 0) { continue }
        [Console]::Out.Write((Invoke-AgentRequest $line) + "`n")
        [Console]::Out.Flush()
    }
}
