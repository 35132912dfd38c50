using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Foresight.Benchmarks;

/// <summary>
/// The real server as a child process on 127.0.0.1 (Release build of src/Foresight.Server), on a fresh database,
/// with its CPU time and resident memory read from /proc.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    public const string AdminEmail = "admin@bench.local";
    public const string AdminPassword = "benchmark-admin-password";

    readonly Process _process;
    public Uri Address { get; }
    public string Directory { get; }
    public int Pid => _process.Id;

    ServerProcess(Process process, Uri address, string directory) { _process = process; Address = address; Directory = directory; }

    public static async Task<ServerProcess> StartAsync(params string[] settings)
    {
        var root = Repository.Root();
        var dll = Path.Combine(root, "src/Foresight.Server/bin/Release/net10.0/Foresight.Server.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"build the server first: dotnet build -c Release Foresight.sln ({dll})");
        var dir = System.IO.Directory.CreateTempSubdirectory("foresight-bench").FullName;
        int port = FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        foreach (var a in new[]
        {
            dll, "--urls", $"http://127.0.0.1:{port}", $"--Foresight:Database={dir}/foresight.db",
            $"--Foresight:Admin:Email={AdminEmail}", $"--Foresight:Admin:Password={AdminPassword}",
            "--Foresight:RateLimits:SignInPerMinute=100000", "--Foresight:RateLimits:AnswersPerMinute=1000000",
            "--Logging:LogLevel:Default=Warning",
        }.Concat(settings)) info.ArgumentList.Add(a);
        info.Environment["DOTNET_gcServer"] = "0";
        // FORESIGHT_PERF_MAP=1 writes /tmp/perf-PID.map so that `perf` can name JIT-compiled frames.
        if (Environment.GetEnvironmentVariable("FORESIGHT_PERF_MAP") == "1") { info.Environment["DOTNET_PerfMapEnabled"] = "1"; info.Environment["DOTNET_EnableWriteXorExecute"] = "0"; }
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine("server: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var address = new Uri($"http://127.0.0.1:{port}");
        using var http = new HttpClient { BaseAddress = address };
        for (int i = 0; i < 300; i++)
        {
            try { if ((await http.GetAsync("/health/ready")).IsSuccessStatusCode) return new ServerProcess(process, address, dir); }
            catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        process.Kill(true);
        throw new TimeoutException("the server did not become ready in 30 s");
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

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
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}

public static class Repository
{
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Foresight.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Foresight.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Latency figures from a set of samples in milliseconds.</summary>
public static class Percentiles
{
    public static double Of(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
