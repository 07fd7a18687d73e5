@echo off
rem collect-tlsdiag.cmd - collect what tlsdiag needs from one Windows server; nothing to install.
rem
rem   Run in an elevated command prompt:  collect-tlsdiag.cmd [output folder]
rem   Default output folder: .\%COMPUTERNAME% (created). Zip that folder and copy it off the server.
rem
rem Exports (read-only on the server): event logs with wevtutil epl, and with reg export the four
rem registry keys that hold the machine certificate stores and the SCHANNEL settings. Certificates
rem in these keys are public; private keys are not in them.
setlocal EnableExtensions

net session >nul 2>&1
if errorlevel 1 (
  echo collect-tlsdiag: run this from an elevated command prompt ^(Run as administrator^). 1>&2
  exit /b 1
)

set "OUT=%~1"
if "%OUT%"=="" set "OUT=%CD%\%COMPUTERNAME%"
if not exist "%OUT%" mkdir "%OUT%"
if not exist "%OUT%" (
  echo collect-tlsdiag: cannot create "%OUT%" 1>&2
  exit /b 1
)
echo Collecting into "%OUT%"

rem Computer name, local time with its UTC offset (WMI CIM_DATETIME), OS version: tlsdiag uses the
rem time as the reference for expiry checks and the build for version-specific causes.
set "LDT="
set "OSV="
for /f "tokens=2 delims==" %%a in ('wmic os get LocalDateTime /value 2^>nul ^| find "="') do set "LDT=%%a"
for /f "tokens=2 delims==" %%a in ('wmic os get Version /value 2^>nul ^| find "="') do set "OSV=%%a"
rem Newer Windows releases drop wmic; PowerShell gives the same values there.
if not defined LDT for /f %%a in ('powershell -NoProfile -Command "[DateTime]::UtcNow.ToString('yyyyMMddHHmmss.ffffff')+'+000'"') do set "LDT=%%a"
if not defined OSV for /f %%a in ('powershell -NoProfile -Command "[Environment]::OSVersion.Version.ToString(3)"') do set "OSV=%%a"
> "%OUT%\tlsdiag-collection.txt" (
  echo ComputerName=%COMPUTERNAME%
  echo LocalDateTime=%LDT%
  echo OSVersion=%OSV%
)

rem Event logs. A log that does not exist on this server is reported and skipped.
call :epl "System" "System.evtx"
call :epl "Application" "Application.evtx"
call :epl "Lync Server" "Lync Server.evtx"
call :epl "Microsoft-Windows-WindowsFabric/Admin" "WindowsFabric-Admin.evtx"
call :epl "Microsoft-Windows-CAPI2/Operational" "CAPI2-Operational.evtx"

rem Certificate stores (machine, group policy, enterprise) and SCHANNEL settings.
call :regexport "HKLM\SOFTWARE\Microsoft\SystemCertificates" "SystemCertificates.reg"
call :regexport "HKLM\SOFTWARE\Policies\Microsoft\SystemCertificates" "Policies-SystemCertificates.reg"
call :regexport "HKLM\SOFTWARE\Microsoft\EnterpriseCertificates" "EnterpriseCertificates.reg"
call :regexport "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL" "SCHANNEL.reg"

echo.
echo Done. Zip "%OUT%" (Explorer: Send to ^> Compressed ^(zipped^) folder) and run:
echo   tlsdiag scan ^<the zip or folder^>
exit /b 0

:epl
wevtutil epl "%~1" "%OUT%\%~2" /ow:true >nul 2>&1
if errorlevel 1 (
  echo   skipped log "%~1" ^(not present or not readable^)
) else (
  echo   log "%~1" -^> %~2
)
exit /b 0

:regexport
reg export "%~1" "%OUT%\%~2" /y >nul 2>&1
if errorlevel 1 (
  echo   key "%~1" not present ^(normal for group policy and enterprise stores that are unused^)
) else (
  echo   key "%~1" -^> %~2
)
exit /b 0
