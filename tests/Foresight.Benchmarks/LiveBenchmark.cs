using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Foresight.Benchmarks;

/// <summary>
/// Issue 4: N hub clients watch one survey (as its coordinator) while answers arrive at a fixed rate. The latency
/// of an answer is the time from its acknowledgement (2xx) to the arrival, at a client, of the first update whose
/// progress counts it (progress.submissions is the number of saves the live state has applied, in order).
/// The server runs as its own process; the load tool shares the machine with it.
/// </summary>
public static class LiveBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        int clients = Arg(args, "--clients", 1000), rate = Arg(args, "--rate", 500), seconds = Arg(args, "--seconds", 20), experts = Arg(args, "--experts", 500);
        Console.WriteLine($"live: {clients} hub clients, {rate} answers/s for {seconds} s, {experts} experts, quick-start survey (6 topics)");
        await using var server = await ServerProcess.StartAsync();
        Console.WriteLine($"server pid {server.Pid} at {server.Address}");
        var api = new BenchApi(server.Address);
        await api.SignInAsync(ServerProcess.AdminEmail, ServerProcess.AdminPassword);
        await api.ImportSurveyAsync(File.ReadAllText(Path.Combine(Repository.Root(), "surveys/quick-start.yaml")));
        var panel = await api.PanelAsync("quick-start", experts, _ => ["Q", "A"]);
        await api.OpenRoundAsync("quick-start");

        // The watchers.
        var arrivals = new List<(long Submissions, long At)>[clients];
        var connections = new HubConnection[clients];
        long messages = 0;
        var connect = Stopwatch.StartNew();
        await Parallel.ForAsync(0, clients, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            var list = arrivals[i] = [];
            var c = new HubConnectionBuilder().WithUrl(new Uri(server.Address, "/hubs/live"), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                o.AccessTokenProvider = () => Task.FromResult<string?>(api.Token);
            }).Build();
            c.On<JsonElement>("update", e =>
            {
                long at = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref messages);
                if (e.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object)
                    lock (list) list.Add((p.GetProperty("submissions").GetInt64(), at));
            });
            await c.StartAsync();
            await c.InvokeAsync<JsonElement>("Join", "quick-start");
            connections[i] = c;
        });
        Console.WriteLine($"connected and joined {clients} clients in {connect.Elapsed.TotalSeconds:0.0} s; server RSS {server.RssMiB():0} MiB");

        // The answers: one topic per request, each changing the expert's answer so that every save is a change.
        var topics = new[] { "Q-T01", "Q-T02", "Q-T03", "A-T01", "A-T02", "A-T03" };
        var experts_ = panel.Select(p => p.Secret).ToArray();
        var acks = new ConcurrentBag<long>();
        var ackLatency = new ConcurrentBag<double>();
        int errors = 0;
        using var inFlight = new SemaphoreSlim(256);
        double cpu0 = server.CpuSeconds();
        var tool0 = Process.GetCurrentProcess().TotalProcessorTime;
        double rss0 = server.RssMiB(), rssMax = rss0;
        int total = rate * seconds;
        var start = Stopwatch.GetTimestamp();
        var tasks = new List<Task>(total);
        for (int i = 0; i < total; i++)
        {
            long due = start + (long)(i * (double)Stopwatch.Frequency / rate);
            while (Stopwatch.GetTimestamp() < due) await Task.Delay(1);
            if (i % rate == 0) rssMax = Math.Max(rssMax, server.RssMiB());
            await inFlight.WaitAsync();
            int n = i;
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    int pair = n % (experts_.Length * topics.Length), pass = n / (experts_.Length * topics.Length);
                    var secret = experts_[pair % experts_.Length];
                    var topic = topics[pair / experts_.Length];
                    var body = new { answers = new Dictionary<string, object> { ["familiarity"] = 3, ["importance"] = 1 + (pass + pair) % 7, ["realization_year"] = 2030 + pass % 20 } };
                    using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/surveys/quick-start/questionnaire/topics/{topic}") { Content = JsonContent.Create(body) };
                    request.Headers.Authorization = new("Bearer", secret);
                    long sent = Stopwatch.GetTimestamp();
                    using var response = await api.Http.SendAsync(request);
                    long acked = Stopwatch.GetTimestamp();
                    if (response.IsSuccessStatusCode) { acks.Add(acked); ackLatency.Add(Ms(acked - sent)); }
                    else Interlocked.Increment(ref errors);
                }
                catch { Interlocked.Increment(ref errors); }
                finally { inFlight.Release(); }
            }));
        }
        await Task.WhenAll(tasks);
        double elapsed = Ms(Stopwatch.GetTimestamp() - start) / 1000;
        await Task.Delay(2000); // the last coalesced updates
        double cpu = server.CpuSeconds() - cpu0;
        double toolCpu = (Process.GetCurrentProcess().TotalProcessorTime - tool0).TotalSeconds;
        rssMax = Math.Max(rssMax, server.RssMiB());

        // Latency: each client's k-th update covers the answers acknowledged so far, in order of acknowledgement.
        var ackTimes = acks.Order().ToArray();
        var latencies = new List<double>(ackTimes.Length * 4);
        long delivered = 0;
        foreach (var list in arrivals)
        {
            List<(long Submissions, long At)> updates;
            lock (list) updates = list.OrderBy(u => u.At).ToList();
            int next = 0;
            foreach (var (covered, at) in updates)
                for (; next < Math.Min(covered, ackTimes.Length); next++)
                {
                    latencies.Add(Math.Max(0, Ms(at - ackTimes[next])));
                    delivered++;
                }
        }
        latencies.Sort();
        var acksSorted = ackLatency.Order().ToList();
        foreach (var c in connections) await c.DisposeAsync();

        Console.WriteLine($"answers: {ackTimes.Length} acknowledged in {elapsed:0.0} s = {ackTimes.Length / elapsed:0} /s; errors {errors}");
        Console.WriteLine($"answer acknowledgement: p50 {Percentiles.Of(acksSorted, 0.5):0.0} ms, p99 {Percentiles.Of(acksSorted, 0.99):0.0} ms");
        Console.WriteLine($"update latency (ack -> arrival at a client): p50 {Percentiles.Of(latencies, 0.5):0} ms, p99 {Percentiles.Of(latencies, 0.99):0} ms, max {latencies.LastOrDefault():0} ms; {delivered:N0} deliveries of {ackTimes.Length * (long)clients:N0}");
        Console.WriteLine($"messages received: {messages:N0} ({messages / (double)clients / elapsed:0.0} per client per s)");
        Console.WriteLine($"server CPU {cpu:0.0} s = {100 * cpu / elapsed:0} % of one core; server RSS {rss0:0} -> max {rssMax:0} MiB; load tool CPU {100 * toolCpu / elapsed:0} % of one core");
        bool met = Percentiles.Of(latencies, 0.99) < 250 && errors == 0;
        Console.WriteLine(met ? "target (p99 < 250 ms): met" : "target (p99 < 250 ms): MISSED");
        return 0;
    }

    static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
    }
}
