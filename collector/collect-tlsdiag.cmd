@echo off
rem collect-tlsdiag.cmd - collect what tlsdiag needs from one Windows server; nothing to install.
rem
rem   Run in an elevated command prompt:
rem     collect-tlsdiag.cmd [/out PARENT] [/days N] [/nologs] [/reservemb MB] [/nopause]
rem   Output: a new folder PARENT\tlsdiag-%COMPUTERNAME%-yyyymmdd-HHMMSS (PARENT defaults to %TEMP%).
rem   /days N   export the events of the last N days (default 30); /days 0 exports whole logs.
rem   Before any log is copied, the live logs' sizes are compared with the free space of the target
rem   drive; logs are not copied when less than /reservemb MB (default 1024) would stay free.
rem   /nopause  never wait for a key at the end (started from Explorer it waits, so the window stays).
rem   Zip the folder and copy it off the server. The logs hold user names, SIP and IP addresses.
rem
rem Read-only on the server: wevtutil gl/gli/qe/epl, reg query/export, wmic. Certificates in the
rem exported keys are public; private keys are not in them.
setlocal EnableExtensions DisableDelayedExpansion

rem Started from Explorer (cmd.exe /c): keep the window open at the end so the admin sees the folder.
rem Delayed expansion reads %cmdcmdline% without letting characters of a path act as operators.
set "PAUSEATEND="
setlocal EnableDelayedExpansion
set "CL=!cmdcmdline!"
set "CL=!CL:"=!"
if /i not "!CL: /c =!"=="!CL!" (endlocal & set "PAUSEATEND=1") else endlocal

set "PARENT=%TEMP%"
set "DAYS=30"
set "NOLOGS="
set "RESERVEMB=1024"
:args
if "%~1"=="" goto argsdone
if /i "%~1"=="/out" (set "PARENT=%~2" & shift & shift & goto args)
if /i "%~1"=="/days" (set "DAYS=%~2" & shift & shift & goto args)
if /i "%~1"=="/reservemb" (set "RESERVEMB=%~2" & shift & shift & goto args)
if /i "%~1"=="/nologs" (set "NOLOGS=1" & shift & goto args)
if /i "%~1"=="/nopause" (set "PAUSEATEND=" & shift & goto args)
echo collect-tlsdiag: unknown argument "%~1" 1>&2
echo usage: collect-tlsdiag.cmd [/out PARENT] [/days N] [/nologs] [/reservemb MB] [/nopause] 1>&2
set "RC=1" & goto finish
:argsdone
set "DAYSN="
set "RESERVEN="
if "%DAYS%"=="" set "DAYS=x"
if "%RESERVEMB%"=="" set "RESERVEMB=x"
set /a "DAYSN=DAYS" 2>nul
set /a "RESERVEN=RESERVEMB" 2>nul
if not "%DAYSN%"=="%DAYS%" (echo collect-tlsdiag: /days needs a whole number of days 1>&2 & set "RC=1" & goto finish)
if not "%RESERVEN%"=="%RESERVEMB%" (echo collect-tlsdiag: /reservemb needs a whole number 1>&2 & set "RC=1" & goto finish)

rem Administrator check that does not need the Server service (net session does).
fltmc >nul 2>&1
if not "%errorlevel%"=="0" (
  echo collect-tlsdiag: run this from an elevated command prompt ^(Run as administrator^). 1>&2
  set "RC=1" & goto finish
)

rem Names: NetBIOS (15 characters at most) and the DNS host name and domain the event logs carry.
set "DNSHOST="
set "DNSDOMAIN="
for /f "tokens=2,*" %%a in ('reg query "HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters" /v Hostname 2^>nul ^| find /i "REG_SZ"') do set "DNSHOST=%%b"
for /f "tokens=2,*" %%a in ('reg query "HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters" /v Domain 2^>nul ^| find /i "REG_SZ"') do set "DNSDOMAIN=%%b"

rem Local time with its UTC offset (WMI CIM_DATETIME) and OS version; the inner for drops wmic's CR.
set "LDT="
set "OSV="
for /f "tokens=2 delims==" %%a in ('wmic os get LocalDateTime /value 2^>nul ^| find "="') do for /f "delims=" %%b in ("%%a") do set "LDT=%%b"
for /f "tokens=2 delims==" %%a in ('wmic os get Version /value 2^>nul ^| find "="') do for /f "delims=" %%b in ("%%a") do set "OSV=%%b"
if not defined LDT for /f %%a in ('powershell -NoProfile -Command "[DateTime]::UtcNow.ToString('yyyyMMddHHmmss.ffffff')+'+000'"') do set "LDT=%%a"
if not defined OSV for /f "tokens=3" %%a in ('reg query "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion" /v CurrentBuildNumber 2^>nul ^| find /i "REG_SZ"') do set "OSV=0.0.%%a"

rem A fresh folder per run, as an absolute path (wevtutil epl needs one).
set "STAMP=run%RANDOM%"
if defined LDT call set "STAMP=%%LDT:~0,8%%-%%LDT:~8,6%%"
set "OUT=%PARENT%\tlsdiag-%COMPUTERNAME%-%STAMP%"
for %%I in ("%OUT%") do set "OUT=%%~fI"
for %%I in ("%OUT%") do set "DRIVE=%%~dI"
if exist "%OUT%" (echo collect-tlsdiag: "%OUT%" exists already; run again for a fresh folder 1>&2 & set "RC=1" & goto finish)
mkdir "%OUT%" 2>nul
if not exist "%OUT%\" (echo collect-tlsdiag: cannot create "%OUT%" 1>&2 & set "RC=1" & goto finish)
echo Collecting into "%OUT%"
set "MAN=%OUT%\tlsdiag-manifest.json"
set "LOGTMP=%OUT%\tlsdiag-manifest-logs.tmp"
set "KEYTMP=%OUT%\tlsdiag-manifest-keys.tmp"
set "SUMTMP=%OUT%\tlsdiag-summary.tmp"
type nul > "%LOGTMP%"
type nul > "%SUMTMP%"
type nul > "%KEYTMP%"
set "LSEP="
set "KSEP="

> "%OUT%\tlsdiag-collection.txt" (
  echo ComputerName=%COMPUTERNAME%
  echo DnsHostName=%DNSHOST%
  echo DnsDomain=%DNSDOMAIN%
  echo LocalDateTime=%LDT%
  echo OSVersion=%OSV%
)

rem Certificate stores (machine, group policy, enterprise) and SCHANNEL settings.
call :regexport "HKLM\SOFTWARE\Microsoft\SystemCertificates" "SystemCertificates.reg"
call :regexport "HKLM\SOFTWARE\Policies\Microsoft\SystemCertificates" "Policies-SystemCertificates.reg"
call :regexport "HKLM\SOFTWARE\Microsoft\EnterpriseCertificates" "EnterpriseCertificates.reg"
call :regexport "HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL" "SCHANNEL.reg"

rem Free space (in units of 10^6 bytes: cmd arithmetic stops at 2^31) against the live logs' sizes.
set "FREE="
for /f "tokens=2 delims==" %%a in ('wmic logicaldisk where "DeviceID='%DRIVE%'" get FreeSpace /value 2^>nul ^| find "="') do for /f "delims=" %%b in ("%%a") do set "FREE=%%b"
if not defined FREE for /f %%a in ('powershell -NoProfile -Command "(New-Object IO.DriveInfo '%DRIVE%').AvailableFreeSpace" 2^>nul') do set "FREE=%%a"
set "FREEMB="
if defined FREE call set "FREEMB=%%FREE:~0,-6%%"
if not defined FREEMB set "FREEMB=0"
set /a "NEEDMB=0"
set "QUERY="
if not "%DAYS%"=="0" (
  set /a "SECS=DAYS*86400"
  call set "QUERY=*[System[TimeCreated[timediff(@SystemTime) <= %%SECS%%000]]]"
)
set "FITS=1"
if defined NOLOGS (
  set "FITS="
  for %%L in ("System" "Application" "Lync Server" "Microsoft-Windows-WindowsFabric/Admin" "Microsoft-Windows-CAPI2/Operational") do call :skiplog "%%~L"
  goto logsdone
)
for %%L in ("System" "Application" "Lync Server" "Microsoft-Windows-WindowsFabric/Admin" "Microsoft-Windows-CAPI2/Operational") do call :measure "%%~L"
if not defined FREE (
  echo   free space of %DRIVE% unknown; logs are copied without the check
) else (
  set /a "LEFT=FREEMB-NEEDMB-RESERVEMB"
)
if defined FREE call :checkspace

call :log "System" "System.evtx"
call :log "Application" "Application.evtx"
call :log "Lync Server" "Lync Server.evtx"
call :log "Microsoft-Windows-WindowsFabric/Admin" "WindowsFabric-Admin.evtx"
call :log "Microsoft-Windows-CAPI2/Operational" "CAPI2-Operational.evtx"
:logsdone

rem The manifest (schema: tlsdiag-manifest.schema.json beside this script).
set "JOUT=%OUT:\=\\%"
set "NEEDJSON=0"
if not "%NEEDMB%"=="0" set "NEEDJSON=%NEEDMB%000000"
set "FREEJSON=null"
if defined FREE set "FREEJSON=%FREE%"
> "%MAN%" (
  echo {"Format":"tlsdiag-manifest","Version":1,"Collector":"collect-tlsdiag.cmd",
  echo "ComputerName":"%COMPUTERNAME%","DnsHostName":"%DNSHOST%","DnsDomain":"%DNSDOMAIN%",
  echo "Started":"%LDT%","OutputFolder":"%JOUT%","Days":%DAYS%,
  echo "FreeBytes":%FREEJSON%,"NeededBytes":%NEEDJSON%,
  echo "Logs":[
)
type "%LOGTMP%" >> "%MAN%"
>> "%MAN%" echo ],"Keys":[
type "%KEYTMP%" >> "%MAN%"
>> "%MAN%" echo ],"Archives":[],"Errors":[]}
echo.
echo Collection folder: "%OUT%"
type "%SUMTMP%"
del "%LOGTMP%" "%KEYTMP%" "%SUMTMP%" 2>nul
echo   (each log's size, oldest record and state, and what was skipped and why: tlsdiag-manifest.json)
echo The logs hold user names, SIP addresses and IP addresses: handle the zip as personal data.
echo Zip the folder (Explorer: Send to ^> Compressed ^(zipped^) folder) and run:
echo   tlsdiag scan ^<the zip or folder^>
set "RC=0"
goto finish

rem ---------------------------------------------------------------- subroutines

:measure
rem Adds a log's live size (rounded up to 10^6 bytes) to NEEDMB.
set "SIZE="
for /f "tokens=1,*" %%a in ('wevtutil gli "%~1" 2^>nul') do if /i "%%a"=="fileSize:" set "SIZE=%%b"
if not defined SIZE exit /b 0
set "SIZEMB=%SIZE:~0,-6%"
if not defined SIZEMB set "SIZEMB=0"
set /a "NEEDMB+=SIZEMB+1"
exit /b 0

:checkspace
if %LEFT% LSS 0 (
  set "FITS="
  echo   not copying event logs: %NEEDMB% MB of live logs would leave less than %RESERVEMB% MB free on %DRIVE%
  echo   use /days with fewer days, or /out on another drive
)
exit /b 0

:log
rem One log: state (gl), size and records (gli), oldest record (qe), then the export (epl).
set "NAME=%~1"
set "ENABLED=null"
set "SIZE=null"
set "RECORDS=null"
set "OLD="
set "STATUS=skipped"
set "FILE="
set "REASON="
set "CODE=null"
wevtutil gl "%NAME%" >nul 2>&1
set "GLRC=%errorlevel%"
if "%GLRC%"=="15007" (set "STATUS=not-present" & set "CODE=15007" & set "REASON=no such log on this server" & goto logentry)
if not "%GLRC%"=="0" (set "STATUS=failed" & set "CODE=%GLRC%" & set "REASON=wevtutil gl failed" & goto logentry)
for /f "tokens=1,*" %%a in ('wevtutil gl "%NAME%" 2^>nul') do if /i "%%a"=="enabled:" set "ENABLED=%%b"
for /f "tokens=1,*" %%a in ('wevtutil gli "%NAME%" 2^>nul') do (
  if /i "%%a"=="fileSize:" set "SIZE=%%b"
  if /i "%%a"=="numberOfLogRecords:" set "RECORDS=%%b"
)
set "XML="
for /f "delims=" %%x in ('wevtutil qe "%NAME%" /c:1 /rd:false /f:xml 2^>nul') do set "XML=%%x"
if defined XML call :oldest
if not defined FITS (set "REASON=not copied: not enough free space for the live logs" & goto logentry)
if defined QUERY (
  echo   exporting "%NAME%" ^(%SIZE% bytes in the live log, %RECORDS% records; last %DAYS% days^) ...
  wevtutil epl "%NAME%" "%OUT%\%~2" "/q:%QUERY%" /ow:true
) else (
  echo   exporting "%NAME%" ^(%SIZE% bytes in the live log, %RECORDS% records; whole log^) ...
  wevtutil epl "%NAME%" "%OUT%\%~2" /ow:true
)
set "CODE=%errorlevel%"
if "%CODE%"=="0" (set "STATUS=exported" & set "FILE=%~2") else (set "STATUS=failed" & set "REASON=wevtutil epl failed")
if "%CODE%"=="15007" (set "STATUS=not-present" & set "REASON=no such log on this server")
if "%STATUS%"=="exported" if "%ENABLED%"=="false" set "REASON=log disabled (Windows default for CAPI2/Operational)"
:logentry
set "LINE=  %STATUS% log "%NAME%": size %SIZE% bytes, %RECORDS% records, enabled %ENABLED%, oldest record %OLD% %REASON%"
echo %LINE%
>> "%SUMTMP%" echo %LINE%
set "OLDJSON=null"
if defined OLD set "OLDJSON="%OLD%""
>> "%LOGTMP%" echo %LSEP%{"Name":"%NAME%","File":"%FILE%","Status":"%STATUS%","ExitCode":%CODE%,"Enabled":%ENABLED%,"SizeBytes":%SIZE%,"Records":%RECORDS%,"OldestRecordUtc":%OLDJSON%,"Reason":"%REASON%"}
set "LSEP=,"
exit /b 0

:skiplog
>> "%LOGTMP%" echo %LSEP%{"Name":"%~1","File":"","Status":"skipped","ExitCode":null,"Enabled":null,"SizeBytes":null,"Records":null,"OldestRecordUtc":null,"Reason":"/nologs given"}
set "LSEP=,"
exit /b 0

:oldest
rem TimeCreated SystemTime of the first record. Event text is written by others: it is only ever
rem expanded with delayed expansion (never parsed as a command), and only a value made of the
rem characters of a timestamp leaves this subroutine.
setlocal EnableDelayedExpansion
set "T=!XML:*SystemTime=!"
set "T=!T:~2,30!"
for /f "delims='" %%t in ("!T!") do set "T=%%t"
for /f "delims=0123456789-:.TZ" %%c in ("!T!") do set "T="
if not "!T:~4,1!!T:~10,1!!T:~-1!"=="-TZ" set "T="
endlocal & set "OLD=%T%"
exit /b 0

:regexport
rem A key that does not exist is "not-present"; any other failure is reported with its exit code.
set "STATUS=exported"
set "FILE=%~2"
set "REASON="
reg query "%~1" >nul 2>&1
if not "%errorlevel%"=="0" (set "STATUS=not-present" & set "FILE=" & set "CODE=1" & set "REASON=key absent (normal for unused group-policy and enterprise stores)" & goto keyentry)
reg export "%~1" "%OUT%\%~2" /y >nul 2>&1
set "CODE=%errorlevel%"
if not "%CODE%"=="0" (set "STATUS=failed" & set "FILE=" & set "REASON=reg export failed")
:keyentry
echo   %STATUS% "%~1" %REASON%
>> "%SUMTMP%" echo   %STATUS% key "%~1" %REASON%
set "JKEY=%~1"
set "JKEY=%JKEY:\=\\%"
>> "%KEYTMP%" echo %KSEP%{"Name":"%JKEY%","File":"%FILE%","Status":"%STATUS%","ExitCode":%CODE%,"Reason":"%REASON%"}
set "KSEP=,"
exit /b 0

:finish
if defined PAUSEATEND pause
exit /b %RC%
