using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Tests;

/// <summary>
/// The quick-start study set up through the HTTP API of a server process: the admin imports the survey, adds
/// experts in both fields, builds the panel (invitation secrets) and opens round 1.
/// </summary>
public sealed class ProcessStudy
{
    public required List<string> Secrets { get; init; }
    /// <summary>panel_members.id of each expert, in the order of <see cref="Secrets"/>.</summary>
    public required List<long> Members { get; init; }

    public static async Task<ProcessStudy> CreateAsync(Uri address, int experts)
    {
        using var admin = new HttpClient { BaseAddress = address, Timeout = Wait.Guard };
        var token = (await Api.OkAsync(await admin.PostAsJsonAsync("/api/auth/signin",
            new { email = ServerProcess.AdminEmail, password = ServerProcess.AdminPassword })))["token"]!.GetValue<string>();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var yaml = await File.ReadAllTextAsync(Path.Combine(Repository.Root(), "surveys", "quick-start.yaml"));
        await Api.OkAsync(await admin.PostAsync("/api/surveys", new StringContent(yaml, Encoding.UTF8, "application/yaml")));
        var ids = new List<long>();
        for (int e = 0; e < experts; e++)
        {
            var expert = await Api.OkAsync(await admin.PostAsJsonAsync("/api/experts", new
            {
                name = $"Load Expert {e}", email = $"load{e}@test.local", organisation = $"Institute {e}", org_type = "UNI", region = "CN_EAST",
                expertise = new[] { "Q", "A" },
            }));
            ids.Add(expert["id"]!.GetValue<long>());
        }
        var invitations = (await Api.OkAsync(await admin.PostAsJsonAsync($"{QuickStudy.S}/panel",
            new { members = ids.Select(id => new { expert_id = id }) }))).AsArray();
        await Api.OkAsync(await admin.PostAsJsonAsync($"{QuickStudy.S}/rounds", new { }));
        return new ProcessStudy
        {
            Secrets = invitations.Select(i => i!["secret"]!.GetValue<string>()).ToList(),
            Members = invitations.Select(i => i!["member_id"]!.GetValue<long>()).ToList(),
        };
    }
}

/// <summary>One save sent by the load: expert, topic (index into <see cref="QuickStudy.Topics"/>) and write number.</summary>
public sealed class Write(int expert, int topic, int k, long sentAt)
{
    public int Expert { get; } = expert;
    public int Topic { get; } = topic;
    /// <summary>The expert's write number: unique per expert over the whole test, so every write's values differ.</summary>
    public int K { get; } = k;
    public long SentAt { get; } = sentAt;
    /// <summary>Stopwatch timestamp of the 2xx; null while in flight or when it failed.</summary>
    public long? AckedAt { get; set; }
    public string? Failure { get; set; }
}

/// <summary>An answer row as stored.</summary>
public sealed record Stored(string Value, double? Number, string? Rationale);

/// <summary>
/// Many experts saving topics at once, each with its own client, one request at a time per expert (so a pair's
/// writes are ordered and at most one per expert is in flight). Each write's values are derived from its write
/// number, with the number itself in the comment, so a stored answer says exactly which write it is.
/// </summary>
public sealed class AnswerLoad(int experts)
{
    public int Experts { get; } = experts;
    readonly List<Write>[] _writes = Enumerable.Range(0, experts).Select(_ => new List<Write>()).ToArray();
    readonly int[] _next = new int[experts];
    int _acked;

    public int Acked => Volatile.Read(ref _acked);
    public IEnumerable<Write> Writes => _writes.SelectMany(w => { lock (w) return w.ToList(); });

    public static string Comment(int expert, string topic, int k) => $"e{expert} {topic} w{k}";

    public static object Body(int expert, string topic, int k) => new
    {
        answers = new Dictionary<string, object>
        {
            ["familiarity"] = 2 + k % 3, ["importance"] = 1 + k % 7, ["feasibility"] = 1 + k % 9, ["realization_year"] = 2025 + k % 36,
            ["constraints"] = Constraints(k), ["comment"] = Comment(expert, topic, k),
        },
        rationales = new Dictionary<string, string> { ["importance"] = "why " + Comment(expert, topic, k) },
    };

    /// <summary>Two different options out of C01-C04, varying with k.</summary>
    static string[] Constraints(int k)
    {
        int a = k % 4, b = (a + 1 + k / 4 % 3) % 4;
        return [$"C0{Math.Min(a, b) + 1}", $"C0{Math.Max(a, b) + 1}"];
    }

    /// <summary>The answer rows write k stores: value, number and rationale of every question.</summary>
    public static Dictionary<string, Stored> Expected(int expert, string topic, int k)
    {
        static string I(int n) => n.ToString(CultureInfo.InvariantCulture);
        int fam = 2 + k % 3, imp = 1 + k % 7, feas = 1 + k % 9, year = 2025 + k % 36;
        return new Dictionary<string, Stored>
        {
            ["familiarity"] = new(I(fam), fam, null),
            ["importance"] = new(I(imp), imp, "why " + Comment(expert, topic, k)),
            ["feasibility"] = new(I(feas), feas, null),
            ["realization_year"] = new(I(year), year, null),
            ["constraints"] = new(string.Join(';', Constraints(k)), null, null),
            ["comment"] = new(Comment(expert, topic, k), null, null),
        };
    }

    /// <summary>
    /// Sends saves from every expert until <paramref name="stop"/> is cancelled (no new request starts after it;
    /// requests in flight finish) or until its first failure. A failure or a non-2xx answer is returned as unexpected
    /// unless it comes after the stop or while <paramref name="failing"/> says the server is being killed.
    /// </summary>
    public async Task<List<string>> RunAsync(Uri address, IReadOnlyList<string> secrets, CancellationToken stop, Func<bool>? failing = null)
    {
        var unexpected = new List<string>();
        await Task.WhenAll(Enumerable.Range(0, Experts).Select(e => Task.Run(async () =>
        {
            using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = address,
                Timeout = Wait.Guard }; // a slow answer is not a failure; a hang is
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secrets[e]);
            while (!stop.IsCancellationRequested)
            {
                int k = _next[e]++;
                int t = k % QuickStudy.Topics.Length;
                var topic = QuickStudy.Topics[t];
                var write = new Write(e, t, k, Stopwatch.GetTimestamp());
                lock (_writes[e]) _writes[e].Add(write);
                try
                {
                    using var response = await http.PutAsJsonAsync($"{QuickStudy.S}/questionnaire/topics/{topic}", Body(e, topic, k));
                    if (response.IsSuccessStatusCode)
                    {
                        write.AckedAt = Stopwatch.GetTimestamp();
                        Interlocked.Increment(ref _acked);
                        continue;
                    }
                    write.Failure = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
                }
                catch (Exception x) when (x is HttpRequestException or TaskCanceledException or IOException)
                {
                    write.Failure = x.GetType().Name + ": " + x.Message;
                }
                // A failure while the server is being stopped or killed is expected; otherwise it is a fault of the server.
                if (!stop.IsCancellationRequested && failing?.Invoke() != true) lock (unexpected) unexpected.Add($"expert {e} {topic} w{k}: {write.Failure}");
                break;
            }
        })));
        return unexpected;
    }

    /// <summary>
    /// Checks the stored answers of every (expert, topic) against the writes. The stored answer must be exactly
    /// (every value, number and rationale) one of: the last write acknowledged by <paramref name="ackedBy"/>
    /// (or, without one, <paramref name="baseline"/>: what was known to be stored before), or a later write sent
    /// by <paramref name="sentBy"/> that was not acknowledged in time (in flight; it may or may not be stored).
    /// Writes before <paramref name="since"/> were checked before. Updates the baseline to what is stored.
    /// </summary>
    public Check Verify(string database, ProcessStudy study, Dictionary<(int, int), int?> baseline, long since, long ackedBy, long sentBy)
    {
        var stored = ReadAnswers(database);
        var history = ReadCommentHistory(database);
        var lastInHistory = ReadLastCommentInHistory(database);
        var check = new Check();
        var byPair = Writes.Where(w => w.SentAt >= since).GroupBy(w => (w.Expert, w.Topic)).ToDictionary(g => g.Key, g => g.OrderBy(w => w.K).ToList());
        for (int e = 0; e < Experts; e++)
            for (int t = 0; t < QuickStudy.Topics.Length; t++)
            {
                var topic = QuickStudy.Topics[t];
                var writes = byPair.GetValueOrDefault((e, t)) ?? [];
                var lastAcked = writes.LastOrDefault(w => w.AckedAt is { } a && a <= ackedBy);
                int? must = lastAcked?.K ?? baseline.GetValueOrDefault((e, t));
                var maybe = writes.Where(w => (must is null || w.K > must) && w.SentAt <= sentBy && !(w.AckedAt is { } a && a <= ackedBy)).Select(w => w.K)
                    .ToList();
                check.Pairs++;
                if (must is not null) check.AckedChecked++;
                check.InFlight += maybe.Count;

                var rows = stored.GetValueOrDefault((study.Members[e], topic));
                int? found = null;
                if (rows is null)
                    Assert.True(must is null, $"expert {e} {topic}: write w{must} was acknowledged but nothing is stored");
                else
                {
                    var comment = rows.GetValueOrDefault("comment")?.Value ?? "";
                    var prefix = Comment(e, topic, 0)[..^1];
                    int k = comment.StartsWith(prefix) && int.TryParse(comment[prefix.Length..], CultureInfo.InvariantCulture, out var n) ? n : -1;
                    Assert.True(k >= 0, $"expert {e} {topic}: the stored comment '{comment}' is not one of this pair's writes");
                    found = k;
                    Assert.True(k == must || maybe.Contains(k),
                        $"expert {e} {topic}: stored w{k}, but it must be " +
                        $"w{must?.ToString() ?? "(nothing)"}{(maybe.Count > 0 ? " or one in flight: " + string.Join(", ", maybe.Select(m => "w" + m)) : "")}");
                    var expected = Expected(e, topic, k);
                    Assert.True(rows.Count == expected.Count && expected.All(x => rows.TryGetValue(x.Key, out var s) && s == x.Value),
                        $"expert {e} {topic} w{k}: stored {Show(rows)}; expected {Show(expected)}");
                    // The two tables are written in one transaction, so they agree in any state that was committed.
                    Assert.True(lastInHistory.GetValueOrDefault((study.Members[e], topic)) == comment,
                        $"expert {e} {topic}: the answer is '{comment}' but the history's last is " +
                        $"'{lastInHistory.GetValueOrDefault((study.Members[e], topic))}'");
                    if (k == must) check.AckedFound++;
                    else if (must is not null) check.AckedSuperseded++;
                }
                foreach (var m in maybe)
                    if (m == found) check.InFlightFound++;
                    else check.InFlightNotFound++;
                baseline[(e, t)] = found;
            }

        // Every acknowledged save is also in the history (one row per changed question; the comment always changes),
        // and the history holds no comment that no request sent.
        var sent = Writes.Where(w => w.SentAt <= sentBy).ToDictionary(w => (study.Members[w.Expert], Comment(w.Expert, QuickStudy.Topics[w.Topic], w.K)));
        foreach (var w in Writes.Where(w => w.AckedAt is { } a && a <= ackedBy))
        {
            var key = (study.Members[w.Expert], Comment(w.Expert, QuickStudy.Topics[w.Topic], w.K));
            Assert.True(history.TryGetValue(key, out var n)
                && n == 1, $"acknowledged write {key.Item2} is in the history {history.GetValueOrDefault(key)} times, not once");
            check.AckedInHistory++;
        }
        foreach (var (key, n) in history)
            Assert.True(sent.ContainsKey(key) && n == 1, $"the history has {key.Item2} {n} times, which no request sent (or sent once)");
        check.Integrity = IntegrityCheck(database);
        return check;
    }

    /// <summary>Reads every expert's topic sheets through the API and checks each comment against the pair's stored write.</summary>
    /// <returns>how many sheets were read</returns>
    public static async Task<int> VerifyThroughApiAsync(Uri address, ProcessStudy study, Dictionary<(int, int), int?> stored)
    {
        int served = 0;
        await Parallel.ForAsync(0, study.Secrets.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (e, _) =>
        {
            using var http = new HttpClient { BaseAddress = address };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", study.Secrets[e]);
            for (int t = 0; t < QuickStudy.Topics.Length; t++)
            {
                var topic = QuickStudy.Topics[t];
                var sheet = await http.GetOkAsync($"{QuickStudy.S}/questionnaire/topics/{topic}");
                var comment = sheet["answers"]?["comment"]?["value"]?.GetValue<string>();
                var expected = stored.GetValueOrDefault((e, t)) is { } k ? Comment(e, topic, k) : null;
                Assert.True(comment == expected, $"expert {e} {topic}: the API shows '{comment}', the file holds '{expected}'");
                Interlocked.Increment(ref served);
            }
        });
        return served;
    }

    public sealed class Check
    {
        /// <summary>AckedFound: pairs holding exactly their last acknowledged write; AckedSuperseded: holding a later write that was in flight.</summary>
        public int Pairs, AckedChecked, AckedFound, AckedSuperseded, AckedInHistory, InFlight, InFlightFound, InFlightNotFound;
        public string Integrity = "";
    }

    static string Show(Dictionary<string, Stored> rows) => string.Join(", ", rows.OrderBy(r => r.Key, StringComparer.Ordinal)
        .Select(r => $"{r.Key}={r.Value.Value}|{r.Value.Number}|{r.Value.Rationale}"));

    /// <summary>A connection of the test's own to the database file (no pool, so the file is let go at once).</summary>
    public static SqliteConnection Open(string database)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadWrite, Pooling = false,
            DefaultTimeout = 30 }.ToString());
        c.Open();
        return c;
    }

    /// <summary>Current answers of round 1, by (panel member, topic code) and question.</summary>
    public static Dictionary<(long Member, string Topic), Dictionary<string, Stored>> ReadAnswers(string database)
    {
        using var c = Open(database);
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT a.member_id, t.code, a.question, a.value, a.number, a.rationale
            FROM answers a JOIN topics t ON t.id = a.topic_id JOIN rounds r ON r.id = a.round_id
            WHERE r.number = 1
            """;
        var result = new Dictionary<(long, string), Dictionary<string, Stored>>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var key = (r.GetInt64(0), r.GetString(1));
            if (!result.TryGetValue(key, out var rows)) result[key] = rows = new Dictionary<string, Stored>(StringComparer.Ordinal);
            rows[r.GetString(2)] = new Stored(r.GetString(3), r.IsDBNull(4) ? null : r.GetDouble(4), r.IsDBNull(5) ? null : r.GetString(5));
        }
        return result;
    }

    /// <summary>How often each (member, comment) was recorded in the answer history.</summary>
    static Dictionary<(long, string), int> ReadCommentHistory(string database)
    {
        using var c = Open(database);
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT h.member_id, j.value ->> 'value' AS comment, count(*) FROM answer_history h, json_each(h.changes) j
            WHERE j.key = 'comment' AND comment IS NOT NULL GROUP BY h.member_id, comment
            """;
        var result = new Dictionary<(long, string), int>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) result[(r.GetInt64(0), r.GetString(1))] = r.GetInt32(2);
        return result;
    }

    /// <summary>The comment of each (member, topic) last recorded in the answer history.</summary>
    static Dictionary<(long, string), string> ReadLastCommentInHistory(string database)
    {
        using var c = Open(database);
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT h.member_id, t.code, h.changes -> '$.comment' ->> 'value' FROM answer_history h JOIN topics t ON t.id = h.topic_id
            WHERE h.id IN (SELECT max(id) FROM answer_history WHERE changes -> '$.comment' IS NOT NULL GROUP BY member_id, topic_id)
            """;
        var result = new Dictionary<(long, string), string>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) result[(r.GetInt64(0), r.GetString(1))] = r.GetString(2);
        return result;
    }

    /// <summary>PRAGMA integrity_check: "ok", or its findings.</summary>
    public static string IntegrityCheck(string database)
    {
        using var c = Open(database);
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA integrity_check";
        var lines = new List<string>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) lines.Add(r.GetString(0));
        return string.Join("; ", lines);
    }
}
