using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Foresight.Testing;

/// <summary>
/// The real server as a child process on 127.0.0.1 (the Release build of src/Foresight.Server, run with `dotnet`),
/// on the database foresight.db in a directory of its own or in one given (to start again on the same data).
/// Used by the benchmarks and by the tests that need a process to kill.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    public const string AdminEmail = "admin@process.local";
    public const string AdminPassword = "server-process-admin-password";

    readonly Process _process;
    readonly bool _ownsDirectory;
    readonly ConcurrentQueue<string> _output;

    public Uri Address { get; }
    /// <summary>Holds foresight.db (and its -wal, -shm) and the data-protection keys.</summary>
    public string Directory { get; }
    public string Database => Path.Combine(Directory, "foresight.db");
    public int Pid { get; }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The server's last lines of output (stdout and stderr), for a failure message.</summary>
    public string RecentOutput => string.Join('\n', _output);

    ServerProcess(Process process, Uri address, string directory, bool ownsDirectory, ConcurrentQueue<string> output)
    {
        _process = process;
        Pid = process.Id;
        Address = address;
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        _output = output;
    }

    /// <summary>The Release build of the server, which `dotnet build Foresight.sln -c Release` makes.</summary>
    public static string ServerDll()
    {
        var dll = Path.Combine(Repository.Root(), "src/Foresight.Server/bin/Release/net10.0/Foresight.Server.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"The Release build of the server is missing; build it first: dotnet build Foresight.sln -c Release (looked for " +
                $"{dll})", dll);
        return dll;
    }

    /// <summary>Starts the server on a fresh database in a new directory, deleted when disposed.</summary>
    public static Task<ServerProcess> StartAsync(params string[] settings) => StartAsync(null, settings);

    /// <param name="directory">where foresight.db is or will be; null for a new directory that is deleted when disposed
    /// (a given one is kept, so that a server can start again on it)</param>
    /// <param name="settings">more command-line settings, e.g. "--Foresight:Synchronous=FULL"</param>
    /// <param name="output">receives each line the server prints; the last lines are kept in <see cref="RecentOutput"/> either way</param>
    /// <param name="serverGc">the garbage collector the server is deployed with (ASP.NET Core's default, server GC);
    /// tests run many servers side by side and use the workstation collector</param>
    /// <param name="environment">environment variables for the server; a null value removes one (the master key is
    /// <see cref="ForesightFactory.MasterKey"/>, from Foresight__MasterKey, unless given here)</param>
    public static async Task<ServerProcess> StartAsync(string? directory, IEnumerable<string> settings, Action<string>? output = null, bool serverGc = false,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var dll = ServerDll();
        bool owns = directory is null;
        directory ??= System.IO.Directory.CreateTempSubdirectory("foresight-server").FullName;
        System.IO.Directory.CreateDirectory(directory);
        // The free port is found before the server binds it: another process on the machine may take it in between.
        // Then the server stops at once, and starts again on another port.
        for (int attempt = 1; ; attempt++)
        {
            var (server, failure, portTaken) = await StartOnceAsync(dll, directory, owns, FreePort(), settings, output, serverGc, environment);
            if (server is not null) return server;
            if (!portTaken || attempt == 5)
            {
                if (owns) TryDelete(directory);
                throw new InvalidOperationException(failure);
            }
        }
    }

    static async Task<(ServerProcess? Server, string Failure, bool PortTaken)> StartOnceAsync(string dll, string directory, bool owns, int port,
        IEnumerable<string> settings, Action<string>? output, bool serverGc, IReadOnlyDictionary<string, string?>? environment)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)! };
        foreach (var a in new[]
        {
            dll, "--urls", $"http://127.0.0.1:{port}", $"--Foresight:Database={Path.Combine(directory, "foresight.db")}",
            $"--Foresight:Admin:Email={AdminEmail}", $"--Foresight:Admin:Password={AdminPassword}",
            "--Foresight:RateLimits:SignInPerMinute=100000", "--Foresight:RateLimits:AnswersPerMinute=1000000",
            "--Logging:LogLevel:Default=Warning",
        }.Concat(settings)) info.ArgumentList.Add(a);
        info.Environment["DOTNET_gcServer"] = serverGc ? "1" : "0";
        info.Environment["Foresight__MasterKey"] = ForesightFactory.MasterKey;
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value is null) info.Environment.Remove(name); else info.Environment[name] = value;
        // FORESIGHT_PERF_MAP=1 writes /tmp/perf-PID.map so that `perf` can name JIT-compiled frames.
        if (Environment.GetEnvironmentVariable("FORESIGHT_PERF_MAP") == "1") { info.Environment["DOTNET_PerfMapEnabled"] =
            "1"; info.Environment["DOTNET_EnableWriteXorExecute"] = "0"; }

        var lines = new ConcurrentQueue<string>();
        void Line(string? line)
        {
            if (line is null) return;
            lines.Enqueue(line);
            while (lines.Count > 200) lines.TryDequeue(out _);
            output?.Invoke(line);
        }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var address = new Uri($"http://127.0.0.1:{port}");
        // A probe that takes long is tried again; the only limit is the guard against a server that never gets ready.
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Wait.Guard && !process.HasExited)
        {
            try { if ((await http.GetAsync("/health/ready")).IsSuccessStatusCode)
                return (new ServerProcess(process, address, directory, owns, lines), "", false); }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        var why = process.HasExited ? $"the server exited with code {process.ExitCode}" : $"the server did not become ready in {Wait.Guard.TotalSeconds:0} s";
        if (!process.HasExited) process.Kill(true);
        // Also for a process that has exited: waiting is what lets the last lines of its output be read.
        await process.WaitForExitAsync();
        bool portTaken = process.ExitCode != 0 && lines.Any(l => l.Contains("address already in use", StringComparison.OrdinalIgnoreCase));
        process.Dispose();
        return (null, $"{why}; its output:\n{string.Join('\n', lines)}", portTaken);
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// <summary>
    /// Kills the server process at once, as a crash would: SIGKILL on Linux, so nothing runs on the way out
    /// (no shutdown, no flush). `dotnet Foresight.Server.dll` runs the app in the dotnet process itself, so the
    /// process killed is the server. Waits until it is gone.
    /// </summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    /// <summary>
    /// Asks the server to stop (SIGTERM, as `docker stop` does) and waits; kills it if it has not stopped in time
    /// (by default <see cref="Wait.Guard"/>: whether it stops by itself, not how fast).
    /// </summary>
    /// <returns>whether it stopped by itself</returns>
    public async Task<bool> StopAsync(TimeSpan? timeout = null)
    {
        if (_process.HasExited) return true;
        if (OperatingSystem.IsWindows()) { await KillAsync(); return false; }
        if (SendSignal(Pid, SigTerm) != 0) throw new InvalidOperationException($"kill({Pid}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        using var cts = new CancellationTokenSource(timeout ?? Wait.Guard);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            return false;
        }
    }

    const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int SendSignal(int pid, int signal);

    /// <summary>CPU seconds the server has used (user + system), from /proc/PID/stat.</summary>
    public double CpuSeconds()
    {
        var fields = File.ReadAllText($"/proc/{Pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0; // utime, stime in clock ticks (100 Hz)
    }

    /// <summary>Resident memory in MiB, from /proc/PID/status.</summary>
    public double RssMiB()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:"));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) { _process.Kill(true); await _process.WaitForExitAsync(); }
        _process.Dispose();
        if (_ownsDirectory) TryDelete(Directory);
    }

    static void TryDelete(string directory)
    {
        try { System.IO.Directory.Delete(directory, true); } catch (IOException) { }
    }
}

public static class Repository
{
    /// <summary>The folder that holds Foresight.sln, above the running assembly.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Foresight.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Foresight.sln not found above " + AppContext.BaseDirectory);
    }
}
