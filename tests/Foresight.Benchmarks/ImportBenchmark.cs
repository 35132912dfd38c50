using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Foresight.Testing;

namespace Foresight.Benchmarks;

/// <summary>
/// Issue 23: experts' answer saves while a long write runs. 200 experts of one survey (quick-start, 6 topics) each save
/// a topic's answers once a second (every save a change), against the Release server as its own process, while a
/// 100 MB Scopus export of 121,687 records (LiteratureExport, generated here) is imported into another survey.
/// Baseline of the same run: the same load without the import, measured first. Latency is the save's round trip
/// (PUT to response) as the load tool sees it, on the same 2-core machine as the server.
/// </summary>
public static class ImportBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        int experts = Arg(args, "--experts", 200), intervalMs = Arg(args, "--interval-ms", 1000), warmup = Arg(args, "--warmup", 10),
            baselineSeconds = Arg(args, "--baseline-seconds", 30), perTheme = Arg(args, "--per-theme", 40_562), words = Arg(args, "--abstract-words", 64);
        Console.WriteLine($"import: {experts} experts each saving a topic every {intervalMs} ms ({experts * 1000.0 / intervalMs:0} saves/s); " +
            $"baseline {baselineSeconds} s after a {warmup} s warm-up, then the same load during a literature import of {perTheme * 3 + 1:N0} records");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, " +
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

        var export = Encoding.UTF8.GetBytes(LiteratureExport.Scopus(perTheme, words));
        Console.WriteLine($"export: {export.Length / 1e6:0.0} MB ({export.Length / 1048576.0:0.0} MiB), Scopus CSV");

        await using var server = await ServerProcess.StartAsync(null, [], line => { if (line.Contains("fail") || line.Contains("warn"))
            Console.WriteLine("  server: " + line.Trim()); }, serverGc: true);
        var api = new BenchApi(server.Address);
        await api.SignInAsync(ServerProcess.AdminEmail, ServerProcess.AdminPassword);
        var yaml = File.ReadAllText(Path.Combine(Repository.Root(), "surveys/quick-start.yaml"));
        await api.ImportSurveyAsync(yaml);
        await api.ImportSurveyAsync(yaml.Replace("id: quick-start", "id: literature-bench"));
        var panel = await api.PanelAsync("quick-start", experts, _ => ["Q", "A"]);
        await api.OpenRoundAsync("quick-start");
        Console.WriteLine($"server pid {server.Pid}; {experts} experts on the panel, round 1 open");

        string[] topics = ["Q-T01", "Q-T02", "Q-T03", "A-T01", "A-T02", "A-T03"];
        // Three bodies per topic that differ, so that each save of an expert changes their answers.
        var bodies = Enumerable.Range(0, 3).Select(k => JsonSerializer.SerializeToUtf8Bytes(QuickStudy.Answer(importance: 3 + k, year: 2030 + k))).ToArray();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = experts, PooledConnectionLifetime = TimeSpan.FromHours(1) })
            { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(120) };
        var tokens = panel.Select(p => new AuthenticationHeaderValue("Bearer", p.Secret)).ToArray();

        var samples = new List<(long At, double Ms, bool Ok)>();
        int shownErrors = 0;
        async Task LoadAsync(CancellationToken stop)
        {
            await Task.WhenAll(Enumerable.Range(0, experts).Select(async e =>
            {
                // Each expert starts at their own moment in the interval, so the saves are spread evenly.
                long interval = Stopwatch.Frequency * intervalMs / 1000, next = Stopwatch.GetTimestamp() + interval * e / experts;
                for (int n = 0; !stop.IsCancellationRequested; n++)
                {
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                    if (wait > TimeSpan.Zero) try { await Task.Delay(wait, stop); } catch (OperationCanceledException) { break; }
                    next += interval;
                    using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/surveys/quick-start/questionnaire/topics/{topics[n % topics.Length]}")
                        { Content = new ByteArrayContent(bodies[n / topics.Length % bodies.Length]) { Headers =
                            { ContentType = new MediaTypeHeaderValue("application/json") } } };
                    request.Headers.Authorization = tokens[e];
                    long t0 = Stopwatch.GetTimestamp();
                    bool ok;
                    try
                    {
                        using var response = await http.SendAsync(request);
                        ok = response.IsSuccessStatusCode;
                        if (!ok && Interlocked.Increment(ref shownErrors) <= 5)
                            Console.WriteLine($"  error {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    }
                    catch (Exception x) when (x is HttpRequestException or TaskCanceledException)
                    {
                        ok = false;
                        if (Interlocked.Increment(ref shownErrors) <= 5) Console.WriteLine($"  error: {x.Message}");
                    }
                    lock (samples) samples.Add((t0, Stopwatch.GetElapsedTime(t0).TotalMilliseconds, ok));
                }
            }));
        }

        // Warm-up and baseline: the load alone.
        using (var stop = new CancellationTokenSource())
        {
            var load = LoadAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(warmup));
            long from = Stopwatch.GetTimestamp();
            double cpu0 = server.CpuSeconds();
            await Task.Delay(TimeSpan.FromSeconds(baselineSeconds));
            long to = Stopwatch.GetTimestamp();
            double cpu = server.CpuSeconds() - cpu0;
            stop.Cancel();
            await load;
            Report("baseline, saves without the import", Window(samples, from, to), Stopwatch.GetElapsedTime(from, to).TotalSeconds, cpu);
        }

        // The same load during the import.
        lock (samples) samples.Clear();
        using (var stop = new CancellationTokenSource())
        {
            var load = LoadAsync(stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(warmup));
            long from = Stopwatch.GetTimestamp();
            double cpu0 = server.CpuSeconds();
            using var coordinator = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(10) };
            coordinator.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", api.Token);
            var file = new ByteArrayContent(export);
            file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            using var response = await coordinator.PostAsync("/api/surveys/literature-bench/insights/records/import?file_name=scopus-100mb.csv", file);
            var accepted = Stopwatch.GetElapsedTime(from);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"the import was refused: {(int)response.StatusCode} {body.ToJsonString()}");
            Console.WriteLine($"import: {(int)response.StatusCode} after {accepted.TotalSeconds:0.0} s (upload, reading and checking the file), " +
                $"{body["total"]} records to write");
            // The coordinator's page asks for the progress every two seconds, as the console's script does.
            var polls = new List<double>();
            var progress = new List<string>();
            JsonNode import = body;
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                var location = response.Headers.Location!.ToString();
                while (import["status"]!.GetValue<string>() == "importing")
                {
                    await Task.Delay(2000);
                    long t0 = Stopwatch.GetTimestamp();
                    import = JsonNode.Parse(await coordinator.GetStringAsync(location))!;
                    polls.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    progress.Add($"{Stopwatch.GetElapsedTime(from).TotalSeconds:0}: {import["done"]}");
                }
            }
            long to = Stopwatch.GetTimestamp();
            double cpu = server.CpuSeconds() - cpu0;
            stop.Cancel();
            await load;
            double wall = Stopwatch.GetElapsedTime(from, to).TotalSeconds;
            Console.WriteLine($"import {import["status"]}: {import["added"]} added, {import["duplicates"]} duplicates, {import["errors"]!.AsArray().Count} " +
                "rows skipped; " +
                $"wall time {wall:0.0} s from the POST (writing {wall - accepted.TotalSeconds:0.0} s, " +
                $"{import["total"]!.GetValue<int>() / Math.Max(0.001, wall - accepted.TotalSeconds):N0} records/s)");
            if (polls.Count > 0)
            {
                polls.Sort();
                Console.WriteLine($"  progress polls (GET the import): {polls.Count}, p50 {Percentiles.Of(polls, 0.5):0.0} ms, max {polls[^1]:0} ms; done at " +
                    $"s: {string.Join(", ", progress)}");
            }
            Report("during the import (from its POST to done)", Window(samples, from, to), wall, cpu);
            var upload = Window(samples, from, from + (long)(accepted.TotalSeconds * Stopwatch.Frequency));
            var writing = Window(samples, from + (long)(accepted.TotalSeconds * Stopwatch.Frequency), to);
            Report("  of which while the file was uploaded and read (before 202)", upload, accepted.TotalSeconds, double.NaN);
            Report("  of which while the records were written", writing, wall - accepted.TotalSeconds, double.NaN);
        }
        return 0;
    }

    static List<(double Ms, bool Ok)> Window(List<(long At, double Ms, bool Ok)> samples, long from, long to)
    {
        lock (samples) return samples.Where(s => s.At >= from && s.At < to).Select(s => (s.Ms, s.Ok)).ToList();
    }

    static void Report(string what, List<(double Ms, bool Ok)> window, double seconds, double cpuSeconds)
    {
        var ms = window.Select(w => w.Ms).Order().ToList();
        int errors = window.Count(w => !w.Ok);
        Console.WriteLine($"{what}: {window.Count:N0} saves in {seconds:0.0} s ({window.Count / seconds:0}/s), {errors} errors; " +
            $"p50 {Percentiles.Of(ms, 0.50):0.0} ms, p95 {Percentiles.Of(ms, 0.95):0.0} ms, p99 {Percentiles.Of(ms, 0.99):0.0} ms, max " +
            $"{(ms.Count == 0 ? double.NaN : ms[^1]):0} ms" +
            (double.IsNaN(cpuSeconds) ? "" : $"; server CPU {100 * cpuSeconds / seconds:0} % of one core"));
    }

    static int Arg(string[] args, string name, int fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1])
        : fallback;
}
