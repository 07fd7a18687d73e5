<#
.SYNOPSIS
    Collect the certificate stores (as JSON) and the event logs tlsdiag needs from one Windows server.

.DESCRIPTION
    Works with Windows PowerShell 3.0 and later (Windows Server 2012); nothing to install. Run it in an
    elevated PowerShell. It only reads: the machine certificate stores through the Cert: drive, the
    registry keys that say which physical store (machine, group policy, enterprise) holds each
    certificate, and the SCHANNEL values; event logs are exported with wevtutil. Private keys are never
    read or exported; only whether a certificate has one (HasPrivateKey).

    Output: <OutputFolder>\tlsdiag-stores.json (schema in collector/README.md) and .evtx files.
    Zip the folder, copy it off the server, and run: tlsdiag scan <zip or folder>

.PARAMETER OutputFolder
    Where to write. Default: a folder named after the computer in the current directory.

.PARAMETER NoEventLogs
    Only collect the certificate stores.

.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Collect-TlsDiag.ps1
#>
[CmdletBinding()]
param(
    [string]$OutputFolder = (Join-Path -Path (Get-Location).Path -ChildPath $env:COMPUTERNAME),
    [switch]$NoEventLogs
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Write-Warning 'Collect-TlsDiag: run this from an elevated PowerShell (Run as administrator).'
    exit 1
}

New-Item -ItemType Directory -Force -Path $OutputFolder | Out-Null
Write-Output "Collecting into $OutputFolder"
$problems = New-Object System.Collections.ArrayList

# Physical store locations: registry key of each; the Cert: drive shows their union per store name.
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
        $certsKey = Join-Path -Path $storeKey.PSPath -ChildPath 'Certificates'
        if (Test-Path -LiteralPath $certsKey) {
            foreach ($certKey in @(Get-ChildItem -LiteralPath $certsKey)) {
                $thumbprint = $certKey.PSChildName
                $entry = [ordered]@{ Thumbprint = $thumbprint }
                try {
                    $cert = Get-Item -LiteralPath ('Cert:\LocalMachine\{0}\{1}' -f $storeName, $thumbprint)
                    $entry.Thumbprint = $cert.Thumbprint
                    $entry.Subject = $cert.Subject
                    $entry.Issuer = $cert.Issuer
                    $entry.HasPrivateKey = [bool]$cert.HasPrivateKey
                    $entry.FriendlyName = $cert.FriendlyName
                    $entry.RawData = [Convert]::ToBase64String($cert.RawData)
                }
                catch {
                    # The Cert: drive does not open every store name; send the registry blob instead.
                    $blob = (Get-ItemProperty -LiteralPath $certKey.PSPath -Name 'Blob' -ErrorAction SilentlyContinue)
                    if ($null -ne $blob) {
                        $entry.Blob = [Convert]::ToBase64String([byte[]]$blob.Blob)
                    }
                    else {
                        [void]$problems.Add(('{0} {1}\{2}: {3}' -f $location.Name, $storeName, $thumbprint, $_.Exception.Message))
                        continue
                    }
                }
                [void]$certificates.Add($entry)
            }
        }
        [void]$stores.Add([ordered]@{
            Location     = $location.Name
            Name         = $storeName
            Certificates = @($certificates)
        })
    }
}

$schannel = [ordered]@{}
$schannelKey = 'HKLM:\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL'
if (Test-Path -LiteralPath $schannelKey) {
    $values = Get-ItemProperty -LiteralPath $schannelKey
    foreach ($name in @('ClientAuthTrustMode', 'SendTrustedIssuerList', 'EnableSessionTicket', 'EventLogging')) {
        if ($values.PSObject.Properties[$name]) { $schannel[$name] = [int]$values.$name }
    }
}

$document = [ordered]@{
    Format       = 'tlsdiag-stores'
    Version      = 1
    ComputerName = $env:COMPUTERNAME
    CollectedUtc = [DateTime]::UtcNow.ToString('o')
    OSBuild      = [string][Environment]::OSVersion.Version.Build
    Stores       = @($stores)
    Schannel     = $schannel
    Errors       = @($problems)
}
$jsonPath = Join-Path -Path $OutputFolder -ChildPath 'tlsdiag-stores.json'
$document | ConvertTo-Json -Depth 6 | Out-File -LiteralPath $jsonPath -Encoding UTF8
Write-Output ('  certificate stores -> {0} ({1} store(s))' -f $jsonPath, $stores.Count)

if (-not $NoEventLogs) {
    $logs = [ordered]@{
        'System'                                = 'System.evtx'
        'Application'                           = 'Application.evtx'
        'Lync Server'                           = 'Lync Server.evtx'
        'Microsoft-Windows-WindowsFabric/Admin' = 'WindowsFabric-Admin.evtx'
        'Microsoft-Windows-CAPI2/Operational'   = 'CAPI2-Operational.evtx'
    }
    foreach ($log in $logs.Keys) {
        $target = Join-Path -Path $OutputFolder -ChildPath $logs[$log]
        # Windows PowerShell turns native stderr into a terminating error under 'Stop'.
        $ErrorActionPreference = 'Continue'
        & wevtutil.exe epl $log $target /ow:true 2>$null | Out-Null
        $exitCode = $LASTEXITCODE
        $ErrorActionPreference = 'Stop'
        if ($exitCode -eq 0) { Write-Output ('  log "{0}" -> {1}' -f $log, $logs[$log]) }
        else { Write-Output ('  skipped log "{0}" (not present or not readable)' -f $log) }
    }
}

Write-Output "Done. Zip $OutputFolder and run: tlsdiag scan <the zip or folder>"
