using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Foresight.Testing;
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
        int clients = Arg(args, "--clients", 1000), rate = Arg(args, "--rate", 500), seconds = Arg(args, "--seconds", 30),
            experts = Arg(args, "--experts", 500),
            warmup = Arg(args, "--warmup", 10);
        Console.WriteLine($"live: {clients} hub clients, {rate} answers/s for {seconds} s after a {warmup} s warm-up, {experts} experts, quick-start survey " +
            "(6 topics)");
        await using var server = await ServerProcess.StartAsync(null, [], line => Console.Error.WriteLine("server: " + line));
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
            c.On<JsonElement>(nameof(Foresight.Server.Features.Live.ILiveClient.Update), e =>
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
        // A warm-up at the same rate comes first (not measured), so that the figures are the server's steady state.
        var topics = new[] { "Q-T01", "Q-T02", "Q-T03", "A-T01", "A-T02", "A-T03" };
        var secrets = panel.Select(p => p.Secret).ToArray();
        int errors = 0;
        long sequence = 0;
        async Task<(List<long> Acks, List<double> AckMs)> LoadAsync(int count)
        {
            var acks = new ConcurrentBag<long>();
            var ackMs = new ConcurrentBag<double>();
            using var inFlight = new SemaphoreSlim(256);
            var start = Stopwatch.GetTimestamp();
            var tasks = new List<Task>(count);
            for (int i = 0; i < count; i++)
            {
                long due = start + (long)(i * (double)Stopwatch.Frequency / rate);
                while (Stopwatch.GetTimestamp() < due) await Task.Delay(1);
                await inFlight.WaitAsync();
                long n = Interlocked.Increment(ref sequence) - 1;
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        long pair = n % (secrets.Length * topics.Length), pass = n / (secrets.Length * topics.Length);
                        var secret = secrets[pair % secrets.Length];
                        var topic = topics[pair / secrets.Length];
                        var body = new { answers = new Dictionary<string, object> { ["familiarity"] = 3, ["importance"] = 1 + (pass + pair) % 7,
                            ["realization_year"] = 2030 + pass % 20 } };
                        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/surveys/quick-start/questionnaire/topics/{topic}") { Content =
                            JsonContent.Create(body) };
                        request.Headers.Authorization = new("Bearer", secret);
                        long sent = Stopwatch.GetTimestamp();
                        using var response = await api.Http.SendAsync(request);
                        long acked = Stopwatch.GetTimestamp();
                        if (response.IsSuccessStatusCode) { acks.Add(acked); ackMs.Add(Ms(acked - sent)); }
                        else Interlocked.Increment(ref errors);
                    }
                    catch { Interlocked.Increment(ref errors); }
                    finally { inFlight.Release(); }
                }));
            }
            await Task.WhenAll(tasks);
            return (acks.Order().ToList(), ackMs.Order().ToList());
        }

        var (warmAcks, _) = await LoadAsync(rate * warmup);
        await Task.Delay(1000);
        long offset = warmAcks.Count; // the submissions counter already counts the warm-up saves
        foreach (var list in arrivals) lock (list) list.Clear();
        Interlocked.Exchange(ref messages, 0);
        int warmErrors = errors;
        errors = 0;
        Console.WriteLine($"warm-up: {warmAcks.Count} answers in {warmup} s, {warmErrors} errors");

        double cpu0 = server.CpuSeconds();
        var tool0 = Process.GetCurrentProcess().TotalProcessorTime;
        double rss0 = server.RssMiB();
        var measured = Stopwatch.StartNew();
        var sampler = Task.Run(async () => { double max = 0; while (measured.IsRunning) { max = Math.Max(max,
            server.RssMiB()); await Task.Delay(500); } return max; });
        var (ackTimes, acksSorted) = await LoadAsync(rate * seconds);
        double elapsed = measured.Elapsed.TotalSeconds;
        await Task.Delay(2000); // the last coalesced updates
        measured.Stop();
        double rssMax = Math.Max(await sampler, server.RssMiB());
        double cpu = server.CpuSeconds() - cpu0;
        double toolCpu = (Process.GetCurrentProcess().TotalProcessorTime - tool0).TotalSeconds;

        // Latency: each client's k-th update covers the answers acknowledged so far, in order of acknowledgement.
        var latencies = new List<double>(ackTimes.Count * 4);
        long delivered = 0;
        foreach (var list in arrivals)
        {
            List<(long Submissions, long At)> updates;
            lock (list) updates = list.OrderBy(u => u.At).ToList();
            int next = 0;
            foreach (var (covered, at) in updates)
                for (; next < Math.Min(covered - offset, ackTimes.Count); next++)
                {
                    latencies.Add(Math.Max(0, Ms(at - ackTimes[next])));
                    delivered++;
                }
        }
        latencies.Sort();
        foreach (var c in connections) await c.DisposeAsync();

        Console.WriteLine($"answers: {ackTimes.Count} acknowledged in {elapsed:0.0} s = {ackTimes.Count / elapsed:0} /s; errors {errors}");
        Console.WriteLine($"answer acknowledgement: p50 {Percentiles.Of(acksSorted, 0.5):0.0} ms, p99 {Percentiles.Of(acksSorted, 0.99):0.0} ms");
        Console.WriteLine($"update latency (ack -> arrival at a client): p50 {Percentiles.Of(latencies, 0.5):0} ms, p99 {Percentiles.Of(latencies, 0.99):0} " +
            $"ms, max {latencies.LastOrDefault():0} ms; {delivered:N0} deliveries of {ackTimes.Count * (long)clients:N0}");
        Console.WriteLine($"messages received: {messages:N0} ({messages / (double)clients / elapsed:0.0} per client per s)");
        Console.WriteLine($"server CPU {cpu:0.0} s = {100 * cpu / (elapsed + 2):0} % of one core; server RSS {rss0:0} -> max {rssMax:0} MiB; load tool CPU " +
            $"{100 * toolCpu / (elapsed + 2):0} % of one core");
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
