using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Questionnaire;
using Microsoft.Data.Sqlite;

namespace Foresight.Benchmarks;

/// <summary>
/// Issue 9: a national-scale study (16 fields, 700 topics, 5,400 experts each answering the topics of their field,
/// about 44) driven over HTTP on 127.0.0.1 by concurrent expert sessions, one topic's answers per request, against
/// the real server process. In the same run, two ceilings: a trivial endpoint of the same server (/health/live,
/// the HTTP ceiling) and a raw batched Dapper insert of the same rows into the same kind of SQLite file (the storage
/// ceiling); and the whole-round consensus of the study. --scale runs a fraction of the panel (0.1, 0.3, 1).
/// The run is bounded: it stops after --answers submissions or --seconds, whichever comes first.
/// </summary>
public static class NationalBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        double scale = ArgD(args, "--scale", 1.0);
        int concurrency = Arg(args, "--concurrency", 64), seconds = Arg(args, "--seconds", 600), warmup = Arg(args, "--warmup", 10),
            baselineSeconds = Arg(args, "--baseline-seconds", 10);
        // The scale is the panel's: a fraction of the 5,400 experts, each still answering the ~44 topics of a field of
        // the whole 700-topic list, so that answers (the work) grow in proportion.
        int topics = 700, experts = (int)Math.Round(5400 * scale);
        var yaml = SurveyYaml(topics);
        var survey = SurveyFile.Parse(yaml).Survey ?? throw new InvalidOperationException("the generated survey does not parse");
        var fieldTopics = survey.Fields.ToDictionary(f => f.Code, f => f.Topics.Select(t => t.Code).ToArray());
        int planned = Enumerable.Range(0, experts).Sum(e => fieldTopics[FieldOf(e)].Length);
        int maxAnswers = Arg(args, "--answers", planned);
        Console.WriteLine($"national: scale {scale:0.##}: {survey.Fields.Count} fields, {topics} topics, {experts} experts, " +
            $"{planned:N0} topic answers planned " +
            $"(about {planned / (double)experts:0} per expert); {concurrency} concurrent sessions; at most {maxAnswers:N0} submissions or {seconds} s after " +
            $"a {warmup} s warm-up");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, " +
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");

        // The server's own account of each consensus it serves (topics computed, time, GC pauses) is printed as it comes.
        bool ladder = args.Contains("--ladder");
        await using var server = await Foresight.Testing.ServerProcess.StartAsync(null,
            ["--Logging:LogLevel:Foresight.Server.Features.Live.LivePublisher=Information", .. ladder ? [$"--{SaveLadder.Setting}=true"]
                : Array.Empty<string>()],
            line => { if (line.Contains("from the kept state")) Console.WriteLine("  server: " + line.Trim()); }, serverGc: !args.Contains("--workstation-gc"));
        var api = new BenchApi(server.Address);
        await api.SignInAsync(Foresight.Testing.ServerProcess.AdminEmail, Foresight.Testing.ServerProcess.AdminPassword);
        var setup = Stopwatch.StartNew();
        await api.ImportSurveyAsync(yaml);
        var panel = await api.PanelAsync("national-bench", experts, e => [FieldOf(e)]);
        await api.OpenRoundAsync("national-bench");
        Console.WriteLine($"set up in {setup.Elapsed.TotalSeconds:0} s; server pid {server.Pid}, RSS {server.RssMiB():0} MiB");

        // The work: every expert answers every topic of their field, in a shuffled order across experts, so that
        // the sessions interleave as on a round's last day; after the plan, experts revise (each save a change).
        var random = new Random(9);
        var work = new List<(int Expert, string Topic)>(planned);
        for (int e = 0; e < experts; e++) foreach (var t in fieldTopics[FieldOf(e)]) work.Add((e, t));
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(work));
        var bodies = Enumerable.Range(0, 64).Select(i => Body(survey, new Random(i))).ToArray();
        var clients = panel.Select(p =>
        {
            var h = new AuthenticationHeaderValue("Bearer", p.Secret);
            return h;
        }).ToArray();
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromHours(1) })
            { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(30) };

        // Baseline 1, the HTTP ceiling: the trivial endpoint at the same concurrency, warmed up as the answers are
        // (measured cold, right after the start, it ranged from 6,500/s to 11,300/s between runs).
        async Task<bool> TrivialAsync(int _) => (await http.GetAsync("/health/live")).IsSuccessStatusCode;
        if (warmup > 0) await DriveAsync(concurrency, TimeSpan.FromSeconds(warmup), int.MaxValue, server, TrivialAsync);
        var trivial = await DriveAsync(concurrency, TimeSpan.FromSeconds(baselineSeconds), int.MaxValue, server, TrivialAsync);
        Report("trivial endpoint GET /health/live", trivial);

        int next = 0;
        Task<bool> AnswerAsync(int i)
        {
            int n = Interlocked.Increment(ref next) - 1;
            var (expert, topic) = work[n % work.Count];
            return PutAsync(http, $"/api/surveys/national-bench/questionnaire/topics/{topic}", bodies[(n / work.Count + expert) % bodies.Length],
                clients[expert]);
        }
        if (warmup > 0)
        {
            var w = await DriveAsync(concurrency, TimeSpan.FromSeconds(warmup), int.MaxValue, server, AnswerAsync);
            Report("warm-up (not counted)", w);
            // The coordinator looks at the consensus once during the round, as they would; this also compiles its code.
            var look = Stopwatch.StartNew();
            await api.Ok(await api.Http.GetAsync("/api/surveys/national-bench/rounds/1/consensus"));
            Console.WriteLine($"consensus of the open round during the warm-up (GET): {look.Elapsed.TotalMilliseconds:0} ms");
        }
        if (ladder)
        {
            await SaveLadderAsync(http, server, concurrency, baselineSeconds, work, bodies, clients, trivial, TrivialAsync);
            return 0;
        }
        var load = await DriveAsync(concurrency, TimeSpan.FromSeconds(seconds), maxAnswers, server, AnswerAsync, sampleEvery: TimeSpan.FromSeconds(10));
        Report("answer submissions PUT /questionnaire/topics/{code}", load);
        Console.WriteLine($"  answers / trivial throughput: {load.PerSecond / trivial.PerSecond:P0}");
        Console.WriteLine("  memory over the run (s: RSS MiB / WAL MiB): " + string.Join(", ",
            load.Samples.Select(s => $"{s.At:0}: {s.RssMiB:0}/{s.WalMiB:0}")));

        // The whole-round consensus: what the coordinator asks for while the round is open, and then at the close.
        var stored = await CountAsync(server.Database);
        var consensus = Stopwatch.StartNew();
        var live = await api.Ok(await api.Http.GetAsync("/api/surveys/national-bench/rounds/1/consensus"));
        var liveMs = consensus.Elapsed.TotalMilliseconds;
        // Asked again with no answer in between: only what changed is computed, so this is the cost of serving it.
        consensus.Restart();
        await api.Ok(await api.Http.GetAsync("/api/surveys/national-bench/rounds/1/consensus"));
        var againMs = consensus.Elapsed.TotalMilliseconds;
        consensus.Restart();
        await api.Ok(await api.Http.PostAsync("/api/surveys/national-bench/rounds/1/close", null));
        var closeMs = consensus.Elapsed.TotalMilliseconds;
        Console.WriteLine($"stored: {stored.Submissions:N0} topic answers, {stored.Rows:N0} answer rows; consensus of the open round (GET) {liveMs:0} ms " +
            $"(first after the load), {againMs:0} ms (asked again), " +
            $"closing the round (computed, stored, hashed) {closeMs:0} ms; {live["topics"]!.AsArray().Count} topics");

        // Baseline 2, the storage ceiling: the same rows inserted with Dapper in batches into the same schema.
        var ceiling = await StorageCeilingAsync(server.Database, (int)Math.Min(stored.Submissions, 100_000),
            stored.Rows / (double)Math.Max(1, stored.Submissions));
        Console.WriteLine($"storage ceiling (raw Dapper batched inserts, same schema and pragmas): {ceiling:N0} topic answers/s; " +
            $"answers / storage ceiling: {load.PerSecond / ceiling:P0}");
        return 0;
    }

    static int shownErrors;

    /// <summary>One topic's answers, as an expert's session sends them; the first few failures are shown.</summary>
    static async Task<bool> PutAsync(HttpClient http, string url, byte[] body, AuthenticationHeaderValue token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, url)
            { Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } } };
        request.Headers.Authorization = token;
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode && Interlocked.Increment(ref shownErrors) <= 5)
            Console.WriteLine($"  error {(int)response.StatusCode} at {url}: {await response.Content.ReadAsStringAsync()}");
        return response.IsSuccessStatusCode;
    }

    const int LadderWarmupSeconds = 5;

    /// <summary>
    /// --ladder: the save's request built up step by step on the server (<see cref="SaveLadder"/>), each step driven
    /// like the answers (same bodies, tokens, concurrency; 5 s warm-up, then measured) and compared with the trivial
    /// endpoint of the same run, which is measured again at the end to show how much the machine drifted.
    /// </summary>
    static async Task SaveLadderAsync(HttpClient http, Foresight.Testing.ServerProcess server, int concurrency, int seconds,
        List<(int Expert, string Topic)> work, byte[][] bodies, AuthenticationHeaderValue[] clients, Figures trivial, Func<int, Task<bool>> trivialCall)
    {
        var (e0, t0) = work[0];
        using var first = new HttpRequestMessage(HttpMethod.Put, $"/api/surveys/national-bench/questionnaire/topics/{t0}")
            { Content = new ByteArrayContent(bodies[0]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } } };
        first.Headers.Authorization = clients[e0];
        using var saved = await http.SendAsync(first);
        var response = await saved.Content.ReadAsByteArrayAsync();
        if (!saved.IsSuccessStatusCode) throw new InvalidOperationException($"a save failed: {(int)saved.StatusCode} {Encoding.UTF8.GetString(response)}");
        (await http.PutAsync("/api/ladder/response", new ByteArrayContent(response))).EnsureSuccessStatusCode();
        Console.WriteLine($"save ladder: request body {bodies[0].Length} bytes, response {response.Length} bytes; each step {LadderWarmupSeconds} s warm-up, " +
            $"{seconds} s measured");

        static double Us(double cpuPct, double perSecond) => cpuPct * 1e4 / perSecond;
        Console.WriteLine($"  {"step",-62} {"requests/s",10} {"of trivial",10} {"server µs",10} {"tool µs",8}");
        void Row(string what, Figures f) => Console.WriteLine(
            $"  {what,-62} {f.PerSecond,10:N0} {f.PerSecond / trivial.PerSecond,10:P0} {Us(f.ServerCpuPct, f.PerSecond),10:0.0} " +
            $"{Us(f.ToolCpuPct, f.PerSecond),8:0.0}" +
            (f.Errors > 0 ? $"  ({f.Errors} errors)" : ""));
        Row("0. trivial endpoint GET /health/live", trivial);
        foreach (var (step, what) in new[]
        {
            ("body", "1. PUT: body read, a save's response bytes sent"),
            ("json", "2. + the body bound as the save's JSON request"),
            ("auth", "3. + authentication, survey access, limits, request validation"),
            ("unstored", "4. + the save's handler, everything but the answer writer"),
            ("save", "5. the save (+ the answer writer)"),
        })
        {
            int next = 0;
            Task<bool> StepAsync(int _)
            {
                int n = Interlocked.Increment(ref next) - 1;
                var (expert, topic) = work[n % work.Count];
                var url = step switch
                {
                    "body" or "json" => $"/api/ladder/{step}/national-bench/{topic}",
                    "auth" or "unstored" => $"/api/ladder/national-bench/{step}/{topic}",
                    _ => $"/api/surveys/national-bench/questionnaire/topics/{topic}",
                };
                return PutAsync(http, url, bodies[(n / work.Count + expert) % bodies.Length], clients[expert]);
            }
            await DriveAsync(concurrency, TimeSpan.FromSeconds(LadderWarmupSeconds), int.MaxValue, server, StepAsync);
            Row(what, await DriveAsync(concurrency, TimeSpan.FromSeconds(seconds), int.MaxValue, server, StepAsync));
        }
        Row("0. trivial endpoint again", await DriveAsync(concurrency, TimeSpan.FromSeconds(seconds), int.MaxValue, server, trivialCall));
    }

    static string FieldOf(int expert) => $"N{expert % 16 + 1:00}";

    /// <summary>The national sample's questions with 16 generated fields of topics.</summary>
    static string SurveyYaml(int topics)
    {
        var text = File.ReadAllText(Path.Combine(Foresight.Testing.Repository.Root(), "surveys/national-tf-2045.yaml"));
        text = text[..text.IndexOf("\nfields:", StringComparison.Ordinal)].Replace("id: national-tf-2045", "id: national-bench");
        var sb = new StringBuilder(text).Append("\nfields:\n");
        for (int f = 1; f <= 16; f++)
        {
            sb.Append($"  - code: N{f:00}\n    name: {{zh-CN: 领域{f}, en: Field {f}}}\n    topics:\n");
            for (int t = f - 1; t < topics; t += 16)
                sb.Append($"      - {{code: N{f:00}-T{t:000}, title: {{zh-CN: \"课题{t}：新型技术在关键行业实现规模化应用\", en: \"Topic {t}: a new technology is deployed at " +
                    $"scale in key sectors\"}}}}\n");
        }
        return sb.ToString();
    }

    /// <summary>A complete round-1 answer to a topic: every question asked without a condition, options that do not skip.</summary>
    static byte[] Body(SurveyDefinition survey, Random random)
    {
        var answers = new Dictionary<string, object>();
        var conditional = survey.Questions.Where(q => q.When is not null).ToDictionary(q => q.When!.Question, q => q.When!.In);
        foreach (var q in survey.Questions.Where(q => q.AskedIn(1) && q.When is null))
        {
            var options = q.Options.Where(o => !o.SkipsTopic && !(conditional.TryGetValue(q.Id, out var triggers) && triggers.Contains(o.Code))).ToList();
            switch (q.Kind)
            {
                case QuestionKind.Ordinal or QuestionKind.Choice:
                    answers[q.Id] = options[random.Next(options.Count)].Code; break;
                case QuestionKind.Year when q.Options.Count > 0:
                    // Social realisation is not before technical realisation: both take the same, early period.
                    answers[q.Id] = options[0].Code; break;
                case QuestionKind.Year:
                    answers[q.Id] = q.Min ?? 2030; break;
                case QuestionKind.Rating:
                    answers[q.Id] = random.Next(q.Min ?? 1, (q.Max ?? 5) + 1); break;
                case QuestionKind.MultiChoice:
                    answers[q.Id] = options.OrderBy(_ => random.Next()).Take(Math.Min(2, q.MaxSelections ?? 2)).Select(o => o.Code).ToArray(); break;
            }
        }
        return JsonSerializer.SerializeToUtf8Bytes(new { answers });
    }

    sealed record Sample(double At, double RssMiB, double CpuSeconds, double WalMiB);

    static double WalMiB(Foresight.Testing.ServerProcess server) =>
        new FileInfo(server.Database + "-wal") is { Exists: true } f ? f.Length / 1048576.0 : 0;
    sealed record Figures(int Ok, int Errors, double Seconds, double P50, double P99, double Max, double ServerCpuPct, double ToolCpuPct, double RssStart,
        double RssEnd, List<Sample> Samples)
    {
        public double PerSecond => Ok / Seconds;
    }

    /// <summary>Runs requests from <paramref name="concurrency"/> loops until the time or the count is reached.</summary>
    static async Task<Figures> DriveAsync(int concurrency, TimeSpan duration, int count, Foresight.Testing.ServerProcess server, Func<int, Task<bool>> call,
        TimeSpan? sampleEvery = null)
    {
        var latencies = new List<double>[concurrency];
        int ok = 0, errors = 0, started = 0;
        var samples = new List<Sample>();
        double cpu0 = server.CpuSeconds(), rss0 = server.RssMiB();
        var tool0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            if (sampleEvery is not { } every) return;
            while (!stop.IsCancellationRequested)
            {
                samples.Add(new Sample(clock.Elapsed.TotalSeconds, server.RssMiB(), server.CpuSeconds(), WalMiB(server)));
                try { await Task.Delay(every, stop.Token); } catch (OperationCanceledException) { }
            }
        });
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async loop =>
        {
            var mine = latencies[loop] = new List<double>(4096);
            while (clock.Elapsed < duration && Interlocked.Increment(ref started) <= count)
            {
                long t0 = Stopwatch.GetTimestamp();
                bool success;
                try { success = await call(loop); } catch (Exception) { success = false; }
                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (success) Interlocked.Increment(ref ok); else Interlocked.Increment(ref errors);
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        stop.Cancel();
        await sampler;
        samples.Add(new Sample(elapsed, server.RssMiB(), server.CpuSeconds(), WalMiB(server)));
        var all = latencies.SelectMany(l => l).Order().ToList();
        var toolCpu = (Process.GetCurrentProcess().TotalProcessorTime - tool0).TotalSeconds;
        return new Figures(ok, errors, elapsed, Percentiles.Of(all, 0.50), Percentiles.Of(all, 0.99), all.Count == 0 ? 0 : all[^1],
            100 * (server.CpuSeconds() - cpu0) / elapsed, 100 * toolCpu / elapsed, rss0, server.RssMiB(), samples);
    }

    static void Report(string what, Figures f) =>
        Console.WriteLine($"{what}: {f.Ok:N0} ok, {f.Errors} errors in {f.Seconds:0.0} s = {f.PerSecond:N0}/s; " +
            $"latency p50 {f.P50:0.0} ms, p99 {f.P99:0.0} ms, " +
            $"max {f.Max:0} ms; server CPU {f.ServerCpuPct:0} % of one core, load tool {f.ToolCpuPct:0} %; server RSS {f.RssStart:0} -> {f.RssEnd:0} MiB");

    static async Task<(long Submissions, long Rows)> CountAsync(string database)
    {
        await using var c = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        return (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM topic_answers"),
            await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM answers"));
    }

    /// <summary>
    /// Topic answers a second that plain Dapper inserts reach: one topic_answers row holding a topic answer's
    /// questions and one answer_history row (what the server writes), 512 topic answers to a transaction, into a new
    /// file with the server's DDL for those tables, WAL and synchronous NORMAL.
    /// </summary>
    static async Task<double> StorageCeilingAsync(string serverDatabase, int submissions, double rowsPerSubmission)
    {
        var ddl = new List<string>();
        await using (var s = new SqliteConnection($"Data Source={serverDatabase};Mode=ReadOnly;Pooling=False"))
        {
            await s.OpenAsync();
            ddl.AddRange(
                await s.QueryAsync<string>(
                    "SELECT sql FROM sqlite_master WHERE tbl_name IN ('topic_answers', 'answer_history') AND sql IS NOT NULL ORDER BY type DESC"));
        }
        var path = Path.Combine(Path.GetTempPath(), $"foresight-ceiling-{Guid.NewGuid():n}.db");
        try
        {
            await using var c = new SqliteConnection($"Data Source={path};Pooling=False");
            await c.OpenAsync();
            await c.ExecuteAsync("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -131072;"); // as the answer writer
            // The server's DDL as it is; foreign keys are not enforced on this connection (SQLite's default), since the
            // referenced tables are not here.
            await c.ExecuteAsync("PRAGMA foreign_keys = OFF;");
            foreach (var sql in ddl) await c.ExecuteAsync(sql);
            int perSubmission = (int)Math.Round(rowsPerSubmission);
            var now = DateTime.UtcNow.ToString("O");
            var clock = Stopwatch.StartNew();
            var changes = "{" + string.Join(",", Enumerable.Range(0, perSubmission)
                .Select(q => $"\"q{q}\":{{\"value\":\"3\",\"number\":3,\"rationale\":null}}")) + "}";
            var answers = "{" + string.Join(",", Enumerable.Range(0, perSubmission)
                .Select(q => $"\"q{q}\":{{\"value\":\"3\",\"number\":3,\"revision\":1,\"updated_at\":\"{now}\"}}")) + "}";
            for (int start = 0; start < submissions; start += 512)
            {
                await using var tx = await c.BeginTransactionAsync();
                var rows = new List<object>();
                var saves = new List<object>();
                for (int i = start; i < Math.Min(submissions, start + 512); i++)
                {
                    rows.Add(new { round = 1, member = i / 44, topic = i % 700, answers, now });
                    saves.Add(new { round = 1, member = i / 44, topic = i % 700, changes, now });
                }
                await c.ExecuteAsync(
                    "INSERT INTO topic_answers (round_id, member_id, topic_id, answers, updated_at) VALUES (@round, @member, @topic, @answers, @now)", rows,
                    tx);
                await c.ExecuteAsync(
                    "INSERT INTO answer_history (round_id, member_id, topic_id, changes, recorded_at) VALUES (@round, @member, @topic, @changes, @now)", saves,
                    tx);
                await tx.CommitAsync();
            }
            return submissions / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var f in new[] { path, path + "-wal", path + "-shm" }) File.Delete(f);
        }
    }

    static int Arg(string[] args, string name, int fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1])
        : fallback;
    static double ArgD(string[] args, string name, double fallback) =>
        Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture)
        : fallback;
}
