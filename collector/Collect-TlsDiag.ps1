#Requires -Version 3.0
<#
.SYNOPSIS
    Collect the certificate stores (as JSON) and the event logs tlsdiag needs from one Windows server.

.DESCRIPTION
    Windows PowerShell 3.0 and later (Windows Server 2012); nothing to install. Run it in an elevated
    PowerShell. It only reads: the machine certificate stores (registry and Cert: drive), the SCHANNEL
    values, and the event logs (wevtutil epl, last 30 days by default). Private keys are never read;
    only whether a certificate has one.

    Output: a new folder tlsdiag-<COMPUTER>-<yyyyMMdd-HHmmss> under %TEMP% (or under -OutputFolder)
    holding tlsdiag-stores.json, the .evtx files and tlsdiag-manifest.json (what was collected, what
    was skipped and why). Before any log is copied, the live logs' sizes are compared with the free
    space on the target drive; logs that would leave less than -ReserveMB free are not copied.
    The logs hold user names, SIP addresses and IP addresses: treat the zip as personal data.
    Zip the folder, copy it off the server, and run: tlsdiag scan <zip or folder>

.PARAMETER OutputFolder
    Folder under which the new collection folder is made (a file-system path; relative paths are taken
    from the current file-system location). Default: %TEMP%.

.PARAMETER Days
    Export only the events of the last N days (default 30). 0 exports the whole logs.

.PARAMETER NoEventLogs
    Only collect the certificate stores.

.PARAMETER ReserveMB
    Free space (MB) the target drive must keep after the worst-case export (default 1024).

.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Collect-TlsDiag.ps1 -Days 7
#>
[CmdletBinding()]
param(
    [string]$OutputFolder = $env:TEMP,
    [ValidateRange(0, 3650)][int]$Days = 30,
    [switch]$NoEventLogs,
    [ValidateRange(0, 1048576)][int]$ReserveMB = 1024
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$Logs = [ordered]@{
    'System'                                = 'System.evtx'
    'Application'                           = 'Application.evtx'
    'Lync Server'                           = 'Lync Server.evtx'
    'Microsoft-Windows-WindowsFabric/Admin' = 'WindowsFabric-Admin.evtx'
    'Microsoft-Windows-CAPI2/Operational'   = 'CAPI2-Operational.evtx'
}
$ChannelNotFound = 15007  # ERROR_EVT_CHANNEL_NOT_FOUND: the only exit code that means "no such log"
$problems = New-Object System.Collections.ArrayList

function Test-Elevated {
    $principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
    return $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
}

function Resolve-Target([string]$Parent, [string]$Name) {
    # A path the file system understands (wevtutil needs an absolute one), never a Cert: or HKLM:
    # location, where New-Item would create a certificate store or a registry key.
    $provider = $null
    $drive = $null
    $full = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Parent, [ref]$provider, [ref]$drive)
    if ($provider.Name -ne 'FileSystem') {
        throw ('-OutputFolder must be a file-system folder, not a {0} path: {1}' -f $provider.Name, $Parent)
    }
    $folder = [IO.Path]::Combine($full, $Name)
    if ([IO.Directory]::Exists($folder)) { throw "$folder exists already; run again for a fresh folder" }
    [void][IO.Directory]::CreateDirectory($folder)
    return $folder
}

function Invoke-Native([string]$Exe, [string[]]$Arguments) {
    # Windows PowerShell turns native stderr into an error record under 'Stop'; collect it as text.
    $saved = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try { $text = (& $Exe @Arguments 2>&1 | ForEach-Object { "$_" }) -join "`n" }
    finally { $ErrorActionPreference = $saved }
    return New-Object PSObject -Property @{ Code = $LASTEXITCODE; Text = $text }
}

function Get-Value([string]$Text, [string]$Key) {
    foreach ($line in ($Text -split "`n")) {
        if ($line -match ('^\s*{0}:\s*(.*?)\s*$' -f [regex]::Escape($Key))) { return $Matches[1] }
    }
    return $null
}

function Get-LogInfo([string]$Log) {
    # wevtutil gl (configuration) and gli (status), and the oldest record still in the live log.
    $info = [ordered]@{ Name = $Log; File = ''; Status = 'skipped'; ExitCode = $null; Enabled = $null
                        SizeBytes = $null; Records = $null; OldestRecordUtc = $null; Reason = ''; Path = '' }
    $gl = Invoke-Native 'wevtutil.exe' @('gl', $Log)
    if ($gl.Code -ne 0) {
        $info.ExitCode = $gl.Code
        if ($gl.Code -eq $ChannelNotFound) { $info.Status = 'not-present'; $info.Reason = 'no such log on this server' }
        else { $info.Status = 'failed'; $info.Reason = "wevtutil gl: $($gl.Text)" }
        return $info
    }
    $enabled = Get-Value $gl.Text 'enabled'
    if ($enabled -in @('true', 'false')) { $info.Enabled = ($enabled -eq 'true') }
    $info.Path = [Environment]::ExpandEnvironmentVariables([string](Get-Value $gl.Text 'logFileName'))
    $gli = Invoke-Native 'wevtutil.exe' @('gli', $Log)
    if ($gli.Code -eq 0) {
        $size = Get-Value $gli.Text 'fileSize'
        $records = Get-Value $gli.Text 'numberOfLogRecords'
        if ($size -match '^\d+$') { $info.SizeBytes = [long]$size }
        if ($records -match '^\d+$') { $info.Records = [long]$records }
    }
    $first = Invoke-Native 'wevtutil.exe' @('qe', $Log, '/c:1', '/rd:false', '/f:xml')
    if ($first.Code -eq 0 -and $first.Text -match "SystemTime='([^']+)'") { $info.OldestRecordUtc = $Matches[1] }
    return $info
}

function Get-StoreDocument([hashtable]$Names) {
    $locations = @(
        @{ Name = 'machine';      Key = 'HKLM:\SOFTWARE\Microsoft\SystemCertificates' },
        @{ Name = 'group-policy'; Key = 'HKLM:\SOFTWARE\Policies\Microsoft\SystemCertificates' },
        @{ Name = 'enterprise';   Key = 'HKLM:\SOFTWARE\Microsoft\EnterpriseCertificates' }
    )
    $stores = New-Object System.Collections.ArrayList
    foreach ($location in $locations) {
        if (-not (Test-Path -LiteralPath $location.Key)) { continue }
        foreach ($storeKey in @(Get-ChildItem -LiteralPath $location.Key)) {
            $storeName = $storeKey.PSChildName
            $certificates = New-Object System.Collections.ArrayList
            try {
                $certsKey = Join-Path -Path $storeKey.PSPath -ChildPath 'Certificates'
                if (Test-Path -LiteralPath $certsKey) {
                    foreach ($certKey in @(Get-ChildItem -LiteralPath $certsKey)) {
                        $entry = Get-CertEntry $certKey $storeName $location.Name
                        if ($null -ne $entry) { [void]$certificates.Add($entry) }
                    }
                }
            }
            catch {
                [void]$problems.Add(('{0} {1}: {2}' -f $location.Name, $storeName, $_.Exception.Message))
            }
            [void]$stores.Add([ordered]@{ Location = $location.Name; Name = $storeName; Certificates = @($certificates) })
        }
    }
    $schannel = [ordered]@{}
    $schannelKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL'
    if (Test-Path -LiteralPath $schannelKey) {
        $values = Get-ItemProperty -LiteralPath $schannelKey
        foreach ($name in @('ClientAuthTrustMode', 'SendTrustedIssuerList', 'EnableSessionTicket', 'EventLogging')) {
            if ($values.PSObject.Properties[$name]) {
                try { $schannel[$name] = [int]$values.$name }
                catch { $schannel[$name] = [string]$values.$name }  # the reader reports a value it cannot use
            }
        }
    }
    $build = (Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion').CurrentBuildNumber
    return [ordered]@{
        Format       = 'tlsdiag-stores'
        Version      = 1
        ComputerName = $Names.NetBios
        DnsHostName  = $Names.Host
        DnsDomain    = $Names.Domain
        CollectedUtc = [DateTime]::UtcNow.ToString('o')
        OSBuild      = [string]$build
        Stores       = @($stores)
        Schannel     = $schannel
        Errors       = @($problems)
    }
}

function Get-CertEntry($CertKey, [string]$StoreName, [string]$LocationName) {
    # The registry Blob is this physical store's own copy (key flag, friendly name); the Cert: drive
    # returns the first copy of the thumbprint in any location, so it only supplies the DER and names.
    $thumbprint = $CertKey.PSChildName
    $entry = [ordered]@{ Thumbprint = $thumbprint }
    $blob = Get-ItemProperty -LiteralPath $CertKey.PSPath -Name 'Blob' -ErrorAction SilentlyContinue
    if ($null -ne $blob) { $entry.Blob = [Convert]::ToBase64String([byte[]]$blob.Blob) }
    try {
        $cert = Get-Item -LiteralPath ('Cert:\LocalMachine\{0}\{1}' -f $StoreName, $thumbprint)
        $entry.Thumbprint = $cert.Thumbprint
        $entry.Subject = $cert.Subject
        $entry.Issuer = $cert.Issuer
        $entry.HasPrivateKey = [bool]$cert.HasPrivateKey
        $entry.FriendlyName = $cert.FriendlyName
        $entry.RawData = [Convert]::ToBase64String($cert.RawData)
    }
    catch {
        if ($null -eq $blob) {
            [void]$problems.Add(('{0} {1}\{2}: {3}' -f $LocationName, $StoreName, $thumbprint, $_.Exception.Message))
            return $null
        }
    }
    return $entry
}

function Write-Json($Object, [string]$Path) {
    # -Compress: the pretty-printer of Windows PowerShell 3-5.1 fails on a string that ends in a backslash.
    $json = $Object | ConvertTo-Json -Depth 6 -Compress
    [IO.File]::WriteAllText($Path, $json, (New-Object Text.UTF8Encoding $true))
}

function Format-Size($Bytes) {
    if ($null -eq $Bytes) { return 'size unknown' }
    return ('{0:N1} MB' -f ($Bytes / 1048576))
}

# ---------------------------------------------------------------- main

if (-not (Test-Elevated)) {
    Write-Warning 'Collect-TlsDiag: run this from an elevated PowerShell (Run as administrator).'
    exit 1
}

$tcpip = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters' -ErrorAction SilentlyContinue
$names = @{ NetBios = $env:COMPUTERNAME; Host = ''; Domain = '' }
if ($null -ne $tcpip) {
    if ($tcpip.PSObject.Properties['Hostname']) { $names.Host = [string]$tcpip.Hostname }
    if ($tcpip.PSObject.Properties['Domain']) { $names.Domain = [string]$tcpip.Domain }
}
$started = [DateTime]::UtcNow
$folder = Resolve-Target $OutputFolder ('tlsdiag-{0}-{1}' -f $names.NetBios, (Get-Date -Format 'yyyyMMdd-HHmmss'))
Write-Host "Collecting into $folder"

$manifest = [ordered]@{
    Format = 'tlsdiag-manifest'; Version = 1; Collector = 'Collect-TlsDiag.ps1'
    ComputerName = $names.NetBios; DnsHostName = $names.Host; DnsDomain = $names.Domain
    Started = $started.ToString('o'); OutputFolder = $folder; Days = $Days
    FreeBytes = $null; NeededBytes = $null
    Logs = @(); Keys = @(); Archives = @(); Errors = @()
}
$logEntries = New-Object System.Collections.ArrayList
$keyEntries = New-Object System.Collections.ArrayList
$archives = New-Object System.Collections.ArrayList
try {
    Write-Host '  certificate stores ...'
    try {
        Write-Json (Get-StoreDocument $names) ([IO.Path]::Combine($folder, 'tlsdiag-stores.json'))
        [void]$keyEntries.Add([ordered]@{ Name = 'certificate stores and SCHANNEL'; File = 'tlsdiag-stores.json'; Status = 'exported'; ExitCode = 0; Reason = '' })
    }
    catch {
        [void]$keyEntries.Add([ordered]@{ Name = 'certificate stores and SCHANNEL'; File = ''; Status = 'failed'; ExitCode = $null; Reason = $_.Exception.Message })
    }

    if ($NoEventLogs) {
        foreach ($log in $Logs.Keys) { [void]$logEntries.Add([ordered]@{ Name = $log; Status = 'skipped'; Reason = '-NoEventLogs' }) }
    }
    else {
        $infos = @($Logs.Keys | ForEach-Object { Get-LogInfo $_ })
        $needed = [long]0
        foreach ($info in $infos) { if ($null -ne $info.SizeBytes) { $needed += $info.SizeBytes } }
        $manifest.NeededBytes = $needed
        $fits = $true
        try {
            $drive = New-Object IO.DriveInfo([IO.Path]::GetPathRoot($folder))
            $manifest.FreeBytes = $drive.AvailableFreeSpace
            $fits = ($drive.AvailableFreeSpace - $needed) -ge ([long]$ReserveMB * 1048576)
        }
        catch {
            [void]$problems.Add("free space of $folder unknown (network path?): $($_.Exception.Message)")
        }
        $query = $null
        if ($Days -gt 0) { $query = '*[System[TimeCreated[timediff(@SystemTime) <= {0}]]]' -f ([long]$Days * 86400000) }
        $n = 0
        foreach ($info in $infos) {
            $n += 1
            $log = $info.Name
            if ($info.Path) {
                $dir = [IO.Path]::GetDirectoryName($info.Path)
                $stem = [IO.Path]::GetFileNameWithoutExtension($info.Path)
                if ($dir -and [IO.Directory]::Exists($dir)) {
                    foreach ($a in [IO.Directory]::GetFiles($dir, "Archive-$stem-*.evtx")) { [void]$archives.Add([IO.Path]::GetFileName($a)) }
                }
            }
            $info.Remove('Path')
            if ($info.Status -ne 'skipped') { [void]$logEntries.Add($info); continue }  # not present or failed
            if (-not $fits) {
                $info.Reason = ('not copied: {0} of live logs would leave less than {1} MB free on {2}; use -Days or -OutputFolder on another drive' -f (Format-Size $needed), $ReserveMB, $folder)
                [void]$logEntries.Add($info)
                continue
            }
            $window = if ($Days -gt 0) { "last $Days days" } else { 'whole log' }
            $what = '({0} in the live log, {1} records; {2})' -f (Format-Size $info.SizeBytes), $info.Records, $window
            Write-Progress -Activity 'Exporting event logs' -Status "$log $what" -PercentComplete (100 * ($n - 1) / $infos.Count)
            Write-Host "  exporting $log $what ..."
            $target = [IO.Path]::Combine($folder, $Logs[$log])
            $arguments = @('epl', $log, $target, '/ow:true')
            if ($query) { $arguments += "/q:$query" }
            $epl = Invoke-Native 'wevtutil.exe' $arguments
            $info.ExitCode = $epl.Code
            if ($epl.Code -eq 0) {
                $info.Status = 'exported'
                $info.File = $Logs[$log]
                if ($info.Enabled -eq $false) { $info.Reason = 'log disabled (Windows default for CAPI2/Operational)' }
            }
            elseif ($epl.Code -eq $ChannelNotFound) { $info.Status = 'not-present'; $info.Reason = 'no such log on this server' }
            else { $info.Status = 'failed'; $info.Reason = "wevtutil epl: $($epl.Text)" }
            [void]$logEntries.Add($info)
        }
        Write-Progress -Activity 'Exporting event logs' -Completed
    }
}
catch {
    [void]$problems.Add("collection stopped: $($_.Exception.Message)")
}
finally {
    $manifest.Logs = @($logEntries)
    $manifest.Keys = @($keyEntries)
    $manifest.Archives = @($archives)
    $manifest.Errors = @($problems)
    Write-Json $manifest ([IO.Path]::Combine($folder, 'tlsdiag-manifest.json'))
}

Write-Host ''
Write-Host "Collection folder: $folder"
foreach ($entry in $logEntries) {
    $state = if ($entry['Enabled'] -eq $false) { 'disabled' } elseif ($entry['Enabled']) { 'enabled' } else { 'state unknown' }
    $oldest = if ($entry['OldestRecordUtc']) { ', oldest record ' + $entry['OldestRecordUtc'] } else { '' }
    $why = if ($entry['Reason']) { ': ' + $entry['Reason'] } else { '' }
    Write-Host ('  {0,-40} {1,-11} {2}, {3}{4}{5}' -f $entry['Name'], $entry['Status'], (Format-Size $entry['SizeBytes']), $state, $oldest, $why)
}
foreach ($entry in $keyEntries) { Write-Host ('  {0,-40} {1,-11} {2}' -f $entry['Name'], $entry['Status'], $entry['Reason']) }
if ($archives.Count -gt 0) { Write-Host "  $($archives.Count) archived log file(s) (Archive-*.evtx) not collected; listed in the manifest" }
foreach ($p in $problems) { Write-Host "  problem: $p" }
Write-Host 'The logs hold user names, SIP addresses and IP addresses: handle the zip as personal data.'
Write-Host "Zip $folder and run: tlsdiag scan <the zip or folder>"
