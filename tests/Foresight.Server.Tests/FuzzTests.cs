using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dapper;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Routing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Foresight.Server.Tests;

/// <summary>
/// Issue 8, point 4 (bad input): every endpoint that takes a body gets thousands of certainly invalid bodies from a
/// seeded generator. None may get a 5xx; each gets a 4xx ProblemDetails with a detail; the database is unchanged.
/// Set FORESIGHT_FUZZ_SEED to replay a run (the seed is printed); FORESIGHT_FUZZ_PER_ENDPOINT to send more.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    const string A = "quick-start";      // round 1 closed, round 2 open with answers: the expert's side
    const string B = "fuzz-draft";       // never opened: topics, rules and the file can change
    const string C = "fuzz-closed";      // round 1 closed and nothing open: decisions, key technologies
    const string NewSurvey = "fuzz-new"; // the id of a survey file that would be imported

    /// <summary>Tables a refused request may change, with the reason. None so far: a refusal writes nothing, not even an audit line.</summary>
    static readonly Dictionary<string, string> MayChange = new();

    /// <summary>POST/PUT/PATCH endpoints that take no body: sending them one would run their action, so they are not fuzzed.</summary>
    static readonly HashSet<string> Bodiless =
    [
        "POST /api/auth/signout",
        "POST /api/users/{id:long}/disable",
        "POST /api/surveys/{survey}/panel/{member:long}/link",
        "POST /api/surveys/{survey}/rounds/{number:int}/close",
        "POST /api/surveys/{survey}/messages/{id:long}/unhide",
    ];

    /// <summary>Endpoints that answer every method and are not the JSON API, with why they are not fuzzed here.</summary>
    static readonly Dictionary<string, string> NotApi = new()
    {
        ["/health/live"] = "health check; reads no body",
        ["/health/ready"] = "health check; reads no body",
        ["/hubs/live/negotiate"] = "SignalR negotiation; reads no body",
        ["/hubs/live"] = "SignalR transport; a POST needs a negotiated connection id, and the hub only reads",
        ["/hangfire/{**path}"] = "Hangfire's dashboard with its own antiforgery; its job storage is not the SQLite file",
    };

    enum Who { Anonymous, Admin, Coordinator, Stakeholder, Expert }

    enum Kind { Json, Survey, Rules, Csv, Literature }

    /// <summary>A hand-written invalid request: a body (JSON or file text), route values other than the example's, headers.</summary>
    sealed record Extra(string Label, string Body, Dictionary<string, string>? Route = null, (string Name, string Value)[]? Headers = null, int? Expect = null);

    /// <summary>One valid request per endpoint; the invalid ones are made from it.</summary>
    sealed record Example(string Method, string Pattern, Who Caller, Kind Kind, string Body, Dictionary<string, string> Route)
    {
        public string Key => $"{Method} {Pattern}";
        /// <summary>Documented maximum lengths of string values (dotted paths into the JSON body).</summary>
        public (string Path, int Max)[] Limits { get; init; } = [];
        public List<Extra> Extras { get; init; } = [];
        public string ContentType => Kind switch { Kind.Json => "application/json", Kind.Csv or Kind.Literature => "text/csv", _ => "application/yaml" };
    }

    /// <summary>One generated request.</summary>
    sealed record Bad(string Label, byte[] Body, string? ContentType, string? Path = null, bool Chunked = false, int? Expect = null,
        (string Name, string Value)[]? Headers = null);

    sealed record Outcome(Example Example, Bad Bad, int Status, string? ContentType, string Text, TimeSpan Time);

    /// <summary>The study every request runs against: three surveys, a panel answering, messages, reports, stakeholders.</summary>
    sealed class Study
    {
        public required Dictionary<Who, HttpClient> Callers { get; init; }
        public required Dictionary<string, long> Experts { get; init; }
        public long MemberA5, MemberB0, VisibleMessage, HiddenMessage, OtherTopicMessage;
        public string RetiredTopic = "", AnswerTopic = "";
        public List<string> RoundTwoTopics = [];
        /// <summary>Open machine proposals of survey C, one per decision the table's valid examples make.</summary>
        public Dictionary<string, long> Proposals = [];
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The tests

    [Fact]
    public async Task Thousands_of_malformed_bodies_get_a_4xx_problem_and_change_nothing()
    {
        var seed = Environment.GetEnvironmentVariable("FORESIGHT_FUZZ_SEED") is { Length: > 0 } s ? int.Parse(s, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        var perEndpoint = Environment.GetEnvironmentVariable("FORESIGHT_FUZZ_PER_ENDPOINT") is { Length: > 0 } n ? int.Parse(n, CultureInfo.InvariantCulture)
            : 150;
        output.WriteLine($"seed {seed} (replay with FORESIGHT_FUZZ_SEED={seed}); {perEndpoint} bodies per endpoint");
        var clock = Stopwatch.StartNew();

        var study = await SetUpAsync();
        var table = Table(study);
        var targets = BodyEndpoints(table);
        output.WriteLine($"set up in {clock.Elapsed.TotalSeconds:0.0} s; {targets.Count} endpoints take a body");

        var random = new Random(seed);
        var requests = new List<(Example Example, Bad Bad)>();
        foreach (var (example, limit, type) in targets)
            foreach (var bad in Generate(example, limit, type, random, perEndpoint))
                requests.Add((example, bad));
        var pages = PageRequests(random, study);

        await SettleAsync();
        var before = Snapshot();
        var fuzzClock = Stopwatch.StartNew();
        var outcomes = new ConcurrentBag<Outcome>();
        // A few at a time, shuffled: refusals must not depend on order, and concurrent bad requests must not spoil each other.
        var order = requests.OrderBy(_ => random.Next()).ToList();
        await Parallel.ForEachAsync(order, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (r, _) =>
            outcomes.Add(await SendAsync(study, r.Example, r.Bad)));
        var pageOutcomes = new ConcurrentBag<(string Page, Bad Bad, int Status)>();
        await Parallel.ForEachAsync(pages, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (p, _) =>
            pageOutcomes.Add((p.Page, p.Bad, await SendPageAsync(study, p.Caller, p.Bad))));
        var fuzzTime = fuzzClock.Elapsed;
        await SettleAsync();
        var after = Snapshot();

        Report(seed, outcomes, pageOutcomes, fuzzTime);
        var failures = new List<string>();
        foreach (var o in outcomes.OrderBy(o => o.Example.Key, StringComparer.Ordinal))
            if (Check(o) is { } problem)
                failures.Add($"{o.Example.Key} [{o.Bad.Label}{(o.Bad.Path is null ? "" : " " + o.Bad.Path)}] {problem}; body starts {Show(o.Bad.Body)}");
        foreach (var p in pageOutcomes.Where(p => p.Status != 400))
            failures.Add($"page {p.Page} [{p.Bad.Label}] answered {p.Status}, not 400 (a form post without an antiforgery token)");
        failures.AddRange(Compare(before, after));
        // Many bodies fail the same way: one line per endpoint, kind of body and kind of problem.
        foreach (var g in failures.GroupBy(f =>
            Regex.Replace(Regex.Replace(f,
                @"\] .*?(server error 500|accepted with \d+|problem without a detail|not a ProblemDetails|detail names the server's types|expected \d+).*",
                "] $1"), @"\d+", "#")))
            output.WriteLine($"{g.Count(),5} x {Cut(g.First())}");
        Assert.True(failures.Count == 0,
            $"seed {seed}: {failures.Count} problems (replay with FORESIGHT_FUZZ_SEED={seed}):\n" + string.Join("\n", failures.Take(40)));

        // The examples themselves are valid, so the bodies made from them are near misses rather than noise.
        foreach (var example in table)
        {
            var response = await SendAsync(study, example, new Bad("valid", Encoding.UTF8.GetBytes(example.Body), example.ContentType));
            Assert.True(response.Status is >= 200 and < 300, $"the valid example of {example.Key} got {response.Status}: {response.Text}");
        }
        output.WriteLine($"total {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>A request written byte for byte; <see cref="Expect"/> the status it must get, <see cref="Detail"/> words its detail must have.</summary>
    sealed record Wire(string Kind, string Label, byte[] Bytes, int? Expect = null, string? Detail = null, bool Head = false, bool MayBeAccepted = false);

    /// <summary>
    /// Issue 22: what HttpClient will not send, written to Kestrel's port byte for byte. A chunk size beyond 32 bits to
    /// every endpoint and page that takes a body (it was answered 500 and logged as a server error); requests Kestrel
    /// refuses itself before any middleware runs (it answered them with an empty body); and seeded mutations of a valid
    /// request's head. None gets a 5xx (bar 505 where the request line names an HTTP version other than 1.x), every 4xx
    /// is a ProblemDetails with a detail, nothing is logged as an error, and the database is unchanged.
    /// </summary>
    [Fact]
    public async Task Malformed_requests_on_the_wire_get_a_4xx_problem_log_no_error_and_change_nothing()
    {
        var seed = Environment.GetEnvironmentVariable("FORESIGHT_FUZZ_SEED") is { Length: > 0 } s ? int.Parse(s, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (replay with FORESIGHT_FUZZ_SEED={seed})");
        var address = _app.StartKestrel();
        var study = await SetUpAsync();
        var random = new Random(seed);
        var requests = new List<Wire>();
        foreach (var (example, _, _) in BodyEndpoints(Table(study)))
            requests.AddRange(ChunkOverflows(example.Key, WirePath(example, example.Route), example.Method, study.Callers[example.Caller],
                example.ContentType));
        foreach (var page in PageRequests(random, study).DistinctBy(p => p.Page))
            requests.AddRange(ChunkOverflows("page " + page.Page, page.Bad.Path!, "POST", study.Callers[page.Caller], "application/x-www-form-urlencoded"));
        requests.AddRange(KestrelRefusals(study.Callers[Who.Coordinator]));
        for (int i = 0; i < 400; i++) requests.Add(Mutated(random, study.Callers[Who.Coordinator]));

        await SettleAsync();
        var before = Snapshot();
        int loggedBefore = _app.Logged.Count;
        var outcomes = new ConcurrentBag<(Wire Wire, RawHttp.Answer? Answer)>();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (w, _) =>
        {
            var answers = await RawHttp.SendAsync(address, w.Bytes, heads: w.Head ? new HashSet<int> { 0 } : null);
            outcomes.Add((w, answers.FirstOrDefault()));
        });
        await SettleAsync();
        var after = Snapshot();
        var logged = _app.Logged.Skip(loggedBefore).ToList();

        var all = outcomes.ToList();
        var statuses = all.GroupBy(o => o.Answer?.Status ?? 0).OrderBy(g => g.Key).Select(g => $"{g.Key} x {g.Count()}");
        output.WriteLine($"seed {seed}: {all.Count} requests on the wire, each on a connection of its own; status: {string.Join(", ", statuses)}");
        foreach (var kind in all.GroupBy(o => o.Wire.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
            output.WriteLine($"  {kind.Key}: {kind.Count()} " +
                $"({string.Join(", ", kind.GroupBy(o => o.Answer?.Status ?? 0).OrderBy(g => g.Key).Select(g => $"{g.Key} x {g.Count()}"))})");
        var refusals = all.Where(o => o.Answer is { Status: >= 400 }).ToList();
        var problems = refusals.Count(o => !o.Wire.Head && o.Answer!.Header("Content-Type") == "application/problem+json");
        output.WriteLine($"4xx and 5xx: {refusals.Count}, of which {problems} ProblemDetails and {refusals.Count(o => o.Wire.Head)} to HEAD (no body by " +
            "definition); "
            + $"5xx: {refusals.Count(o => o.Answer!.Status >= 500 && o.Answer.Status != 505)} server errors, {refusals.Count(o => o.Answer!.Status == 505)} " +
            "x 505 (an HTTP version other than 1.x); "
            + $"accepted (mutations that stayed valid): {all.Count(o => o.Answer is { Status: < 400 })}");
        foreach (var detail in refusals.Select(o => Detail(o.Answer!.Text)).Where(d => d is not null).GroupBy(d => Regex.Replace(d!, @"'[^']*'|\d+", "#"))
            .OrderByDescending(g => g.Count()).Take(12))
            output.WriteLine($"      {detail.Count()} x {Cut(detail.First()!)}");
        output.WriteLine($"logged at Warning or above while they were sent: {logged.Count}");
        foreach (var entry in logged.Take(10)) output.WriteLine("  " + Cut(entry.ToString()));

        var failures = all.Select(o => WireCheck(o.Wire, o.Answer) is { } problem
            ? $"{o.Wire.Kind} [{o.Wire.Label}] {problem}; sent {Show(o.Wire.Bytes)}" : null)
            .Where(f => f is not null).ToList();
        failures.AddRange(logged.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Select(e => $"logged as an error: {Cut(e.ToString())}"));
        failures.AddRange(Compare(before, after));
        Assert.True(failures.Count == 0, $"seed {seed}: {failures.Count} problems (replay with FORESIGHT_FUZZ_SEED={seed}):\n" + string.Join("\n",
            failures.Take(40)));
    }

    /// <summary>
    /// The same refusals from the server as deployed (its own process, addresses from --urls), and the answers around
    /// them untouched: valid requests before a refused one on the same connection keep their bodies, and a refused HEAD
    /// keeps Kestrel's answer without a body.
    /// </summary>
    [Fact]
    public async Task Kestrels_own_refusals_get_a_problem_in_the_deployed_server_and_leave_other_answers_untouched()
    {
        await using var server = await ServerProcess.StartAsync();
        var host = $"Host: 127.0.0.1:{server.Address.Port}\r\n";
        var live = "GET /health/live HTTP/1.1\r\n" + host + "\r\n";

        var answers = await RawHttp.SendAsync(server.Address, Encoding.ASCII.GetBytes(live + live + "GET /" + new string('a', 9000) + " HTTP/1.1\r\n" + host
            + "\r\n"), expected: 3);
        Assert.Equal(new[] { 200, 200, 414 }, answers.Select(a => a.Status));
        Assert.All(answers.Take(2), a => Assert.Equal("Healthy", a.Text));
        var problem = JsonNode.Parse(answers[2].Text)!;
        Assert.Equal("application/problem+json", answers[2].Header("Content-Type"));
        Assert.Equal(414, problem["status"]!.GetValue<int>());
        Assert.Contains("8192 bytes", problem["detail"]!.GetValue<string>());
        Assert.Equal("nosniff", answers[2].Header("X-Content-Type-Options"));

        var headers = string.Concat(Enumerable.Range(0, 40).Select(i => $"X-Filler-{i}: {new string('v', 1000)}\r\n"));
        var tooLarge = (await RawHttp.SendAsync(server.Address, Encoding.ASCII.GetBytes("GET /health/live HTTP/1.1\r\n" + host + headers + "\r\n"))).Single();
        Assert.Equal(431, tooLarge.Status);
        Assert.Contains("32768 bytes", JsonNode.Parse(tooLarge.Text)!["detail"]!.GetValue<string>());

        var head = (await RawHttp.SendAsync(server.Address, Encoding.ASCII.GetBytes("HEAD /health/live HTTP/1.1\r\n" + host + headers + "\r\n"),
            heads: new HashSet<int> { 0 })).Single();
        Assert.Equal(431, head.Status);
        Assert.Equal("0", head.Header("Content-Length"));

        var overflow = (await RawHttp.SendAsync(server.Address, Encoding.ASCII.GetBytes("POST /api/auth/signin HTTP/1.1\r\n" + host
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"))).Single();
        Assert.Equal(400, overflow.Status);
        Assert.Contains("chunk size", JsonNode.Parse(overflow.Text)!["detail"]!.GetValue<string>());
        Assert.DoesNotContain("fail:", server.RecentOutput);
    }

    /// <summary>
    /// Found by the mutated heads above: a request whose Accept header leaves JSON out (image/png, text/html alone) got
    /// its error as plain text, or, where the exception handler answers, no answer it could write: Kestrel's empty 400 or
    /// 500, and the error handler's failure logged as an error. Errors are ProblemDetails whatever Accept asks for.
    /// </summary>
    [Fact]
    public async Task An_Accept_header_without_JSON_still_gets_a_problem_and_logs_no_error()
    {
        var client = _app.Anonymous();
        foreach (var accept in new[] { "image/png", "text/html", "application/xml;q=0.9, text/plain" })
        {
            var bad = new HttpRequestMessage(HttpMethod.Post, "/api/auth/signin") { Content = new StringContent("{bad", Encoding.UTF8, "application/json") };
            bad.Headers.TryAddWithoutValidation("Accept", accept);
            Assert.Contains("JSON", (await Api.ProblemAsync(await client.SendAsync(bad), HttpStatusCode.BadRequest))["detail"]!.GetValue<string>());
            var nothing = new HttpRequestMessage(HttpMethod.Get, "/api/nothing-here");
            nothing.Headers.TryAddWithoutValidation("Accept", accept);
            Assert.Contains("nothing at", (await Api.ProblemAsync(await client.SendAsync(nothing), HttpStatusCode.NotFound))["detail"]!.GetValue<string>());
        }
        var errors = _app.Logged.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Requests on the wire

    static string WirePath(Example example, Dictionary<string, string> route) =>
        Fill(example.Pattern, route)
        + (example.Kind == Kind.Json ? ""
        : $"?file_name={example.Kind switch { Kind.Csv => "experts.csv", Kind.Literature => "scopus.csv", Kind.Rules => "rules.yaml", _ => "survey.yaml" }}");

    static string Authorization(HttpClient caller) =>
        caller.DefaultRequestHeaders.Authorization is { } a ? $"Authorization: {a}\r\n" : "";

    /// <summary>Chunk sizes over 32 bits (Kestrel's parser overflows on them), first or after a chunk that is fine.</summary>
    static IEnumerable<Wire> ChunkOverflows(string kind, string path, string method, HttpClient caller, string contentType)
    {
        foreach (var size in new[] { "ffffffffffffffffffff", "80000000", "100000000", "7fffffff0" })
            foreach (var first in new[] { "", "1\r\n \r\n" })
                yield return new Wire(kind, $"chunk size {size}{(first.Length > 0 ? " after a chunk" : "")}", Encoding.ASCII.GetBytes(
                    $"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{Authorization(caller)}Content-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + $"{first}{size}\r\n{{}}\r\n0\r\n\r\n"), Expect: 400, Detail: "chunk size");
    }

    /// <summary>Requests Kestrel refuses before any middleware runs, each with the status it gives.</summary>
    static IEnumerable<Wire> KestrelRefusals(HttpClient coordinator)
    {
        const string host = "Host: localhost\r\n";
        var yaml = "Content-Type: application/yaml\r\n";
        Wire W(string label, string request, int? expect, string? detail = null)
            => new("refused by Kestrel", label, Encoding.Latin1.GetBytes(request), expect, detail);
        yield return W("request line with a fourth part", "GET / HTTP/1.1 x\r\n" + host + "\r\n", 400, "Invalid request line");
        yield return W("two spaces in the request line", "GET  / HTTP/1.1\r\n" + host + "\r\n", 400);
        yield return W("no HTTP version", "GET /\r\n" + host + "\r\n", 400);
        yield return W("control character in the method", "G\u0001T / HTTP/1.1\r\n" + host + "\r\n", 400);
        yield return W("NUL in the path", "GET /a\u0000b HTTP/1.1\r\n" + host + "\r\n", 400);
        yield return W("byte 0xFF in the path", "GET /a\u00ffb HTTP/1.1\r\n" + host + "\r\n", 400);
        yield return W("target not a path", "GET a/b HTTP/1.1\r\n" + host + "\r\n", 400);
        yield return W("absolute target cut short", "GET http://[bad HTTP/1.1\r\n" + host + "\r\n", 400);
        yield return W("version in lower case", "GET / http/1.1\r\n" + host + "\r\n", null);
        yield return W("version HTTPS/1.1", "GET / HTTPS/1.1\r\n" + host + "\r\n", 400);
        foreach (var version in new[] { "HTTP/1.2", "HTTP/2.0", "HTTP/9.9" })
            yield return W($"version {version}", $"GET / {version}\r\n" + host + "\r\n", 505, "HTTP version");
        yield return W("* for GET", "GET * HTTP/1.1\r\n" + host + "\r\n", 405, "only for OPTIONS");
        yield return W("host:port for GET", "GET localhost:80 HTTP/1.1\r\n" + host + "\r\n", 405, "only for CONNECT");
        yield return W("path of 8200", "GET /" + new string('a', 8200) + " HTTP/1.1\r\n" + host + "\r\n", 414, "8192 bytes");
        yield return W("query of 9000", "GET /api/surveys?q=" + new string('%', 9000) + " HTTP/1.1\r\n" + host + "\r\n", 414, "8192 bytes");
        yield return W("one header of 33000", "GET / HTTP/1.1\r\n" + host + "X-Big: " + new string('v', 33_000) + "\r\n\r\n", 431, "32768 bytes");
        yield return W("40 headers of 1000", "GET / HTTP/1.1\r\n" + host + string.Concat(Enumerable.Range(0, 40)
            .Select(i => $"X-H{i}: {new string('v', 1000)}\r\n")) + "\r\n", 431, "32768 bytes");
        yield return W("101 headers", "GET / HTTP/1.1\r\n" + host + string.Concat(Enumerable.Range(0, 101).Select(i => $"X-H{i}: v\r\n")) + "\r\n", 431,
            "100 fields");
        yield return W("no Host", "GET / HTTP/1.1\r\n\r\n", 400, "Host");
        yield return W("two Hosts", "GET / HTTP/1.1\r\n" + host + "Host: other\r\n\r\n", 400, "Host");
        yield return W("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "Host");
        yield return W("Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "Host");
        yield return W("header name with a space", "GET / HTTP/1.1\r\n" + host + "Bad Name: x\r\n\r\n", 400);
        yield return W("space before the colon", "GET / HTTP/1.1\r\n" + host + "Name : x\r\n\r\n", 400);
        yield return W("header without a colon", "GET / HTTP/1.1\r\n" + host + "NoColon\r\n\r\n", 400);
        yield return W("folded header", "GET / HTTP/1.1\r\n" + host + "X-A: a\r\n folded\r\n\r\n", 400);
        yield return W("NUL in a header value", "GET / HTTP/1.1\r\n" + host + "X-A: a\u0000b\r\n\r\n", 400);
        yield return W("byte 0xE9 in a header name", "GET / HTTP/1.1\r\n" + host + "X-\u00e9: a\r\n\r\n", 400);
        yield return W("CR alone in a header", "GET / HTTP/1.1\r\n" + host + "X-A: a\rb\r\n\r\n", 400);
        yield return W("two Content-Lengths", "POST /api/surveys/validate HTTP/1.1\r\n" + host + Authorization(coordinator) + yaml
            + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, "Content-Length");
        yield return W("Content-Length not a number", "POST /api/surveys/validate HTTP/1.1\r\n" + host + Authorization(coordinator) + yaml
            + "Content-Length: two\r\n\r\n{}", 400);
        yield return W("Content-Length negative", "POST /api/surveys/validate HTTP/1.1\r\n" + host + Authorization(coordinator) + yaml
            + "Content-Length: -2\r\n\r\n{}", 400);
        yield return W("Transfer-Encoding gzip", "POST /api/surveys/validate HTTP/1.1\r\n" + host + Authorization(coordinator) + yaml
            + "Transfer-Encoding: gzip\r\n\r\n{}", 400, "chunked");
        yield return W("Transfer-Encoding chunked, gzip", "POST /api/surveys/validate HTTP/1.1\r\n" + host + Authorization(coordinator) + yaml
            + "Transfer-Encoding: chunked, gzip\r\n\r\n{}", 400, "chunked");
        yield return W("HTTP/1.0 POST without a length", "POST /api/surveys/validate HTTP/1.0\r\n" + host + Authorization(coordinator) + yaml + "\r\n{}", 400,
            "Content-Length");
        yield return W("TLS handshake on the HTTP port", "\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003" + new string('\u0000', 100), 400,
            "TLS");
        // Read by the app (a POST's chunked body is read whole before the endpoint), not by Kestrel: 400 all the same.
        yield return W("chunk size not hex", "POST /api/surveys/validate HTTP/1.1\r\n" + host + Authorization(coordinator) + yaml
            + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400);
        yield return W("chunk without its CRLF", "POST /api/surveys/validate HTTP/1.1\r\n" + host + Authorization(coordinator) + yaml
            + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}xx0\r\n\r\n", 400);
        // Kestrel skips chunk extensions unread; the file ({}) is what the endpoint refuses.
        yield return W("NUL in a chunk extension", "POST /api/surveys/validate HTTP/1.1\r\n" + host + Authorization(coordinator) + yaml
            + "Transfer-Encoding: chunked\r\n\r\n2;\u0000\r\n{}\r\n0\r\n\r\n", 400);
        yield return new Wire("refused by Kestrel", "HEAD with 40 headers of 1000",
            Encoding.ASCII.GetBytes("HEAD / HTTP/1.1\r\n" + host + string.Concat(Enumerable.Range(0, 40).Select(i => $"X-H{i}: {new string('v', 1000)}\r\n"))
                + "\r\n"), 431, Head: true);
    }

    /// <summary>A valid request that changes nothing (a GET with the coordinator's token) with one to three of its head's bytes replaced, inserted or
    /// removed.</summary>
    static Wire Mutated(Random random, HttpClient coordinator)
    {
        var head =
            Encoding.ASCII.GetBytes($"GET /api/surveys/{A}/rounds?x=1 HTTP/1.1\r\nHost: localhost\r\n{Authorization(coordinator)}Accept: " +
            "application/json\r\nX-Fuzz: value\r\n\r\n").ToList();
        byte[] pool = [0x00, (byte)'\r', (byte)'\n', (byte)' ', (byte)':', (byte)'\t', 0x7F, 0x80, 0xFF, (byte)'a', (byte)'/', (byte)'%', (byte)'?', (byte)'#'];
        var changes = new List<string>();
        for (int n = random.Next(1, 4); n > 0; n--)
        {
            // Never the closing CRLF CRLF: a head without its end waits for the rest (30 s) instead of being refused.
            int at = random.Next(0, head.Count - 4);
            byte b = random.Next(3) == 0 ? (byte)random.Next(256) : pool[random.Next(pool.Length)];
            switch (random.Next(3))
            {
                case 0: head[at] = b; changes.Add($"byte {at} = 0x{b:X2}"); break;
                case 1: head.Insert(at, b); changes.Add($"0x{b:X2} inserted at {at}"); break;
                default: head.RemoveAt(at); changes.Add($"byte {at} removed"); break;
            }
        }
        return new Wire("mutated head", string.Join(", ", changes), [.. head], MayBeAccepted: true);
    }

    /// <summary>What is wrong with the answer to a request on the wire, or null.</summary>
    static string? WireCheck(Wire wire, RawHttp.Answer? answer)
    {
        if (answer is null) return "no answer";
        int status = answer.Status;
        var line = Encoding.Latin1.GetString(wire.Bytes[..Math.Max(0, wire.Bytes.AsSpan().IndexOf((byte)'\n'))]).TrimEnd('\r');
        bool otherVersion = !line.EndsWith(" HTTP/1.1", StringComparison.Ordinal) && !line.EndsWith(" HTTP/1.0", StringComparison.Ordinal);
        if (status >= 500 && !(status == 505 && otherVersion)) return $"server error {status}: {Cut(answer.Text)}";
        if (status < 400) return wire.MayBeAccepted ? null : $"accepted with {status}: {Cut(answer.Text)}";
        if (wire.Expect is { } expect && status != expect) return $"{status}, expected {expect}: {Cut(answer.Text)}";
        if (wire.Head) return answer.Body.Length == 0 ? null : "a body in the answer to HEAD";
        if (answer.Header("Content-Type") != "application/problem+json")
            return $"{status} as {answer.Header("Content-Type") ?? "no content type"}, not a ProblemDetails: {Cut(answer.Text)}";
        JsonNode? problem;
        try { problem = JsonNode.Parse(answer.Text); }
        catch (JsonException) { return $"{status} with a body that is not JSON: {Cut(answer.Text)}"; }
        var detail = problem?["detail"] is JsonValue d && d.GetValueKind() == JsonValueKind.String ? d.GetValue<string>() : null;
        if (string.IsNullOrWhiteSpace(detail)) return $"{status} problem without a detail: {Cut(answer.Text)}";
        if (problem?["status"]?.GetValue<int>() != status) return $"{status} with a problem of status {problem?["status"]}";
        if (Regex.IsMatch(detail, @"\b(System|Foresight|Microsoft)\.[A-Z]\w*")) return $"{status} detail names the server's types: {detail}";
        if (wire.Detail is { } words && !detail.Contains(words, StringComparison.Ordinal)) return $"{status} detail without '{words}': {detail}";
        return null;
    }

    [Fact]
    public async Task An_answer_after_the_round_closed_is_refused_and_stores_nothing()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 5);
        for (int e = 0; e < 5; e++) await study.AnswerAsync(e, "Q-T01", QuickStudy.Answer(4 + e % 2));
        await study.CloseAsync(1);
        await SettleAsync();
        var before = Snapshot();

        foreach (var (topic, expert) in new[] { ("Q-T01", 0), ("Q-T02", 1), ("A-T03", 4) })
        {
            var response = await study.Experts[expert].PutAsJsonAsync($"{QuickStudy.S}/questionnaire/topics/{topic}", QuickStudy.Answer(6, rationale: "Late."));
            var problem = await Api.ProblemAsync(response, HttpStatusCode.Conflict);
            Assert.Contains("No round is open", problem["detail"]!.GetValue<string>());
            var ranking = await study.Experts[expert].PutAsJsonAsync($"{QuickStudy.S}/questionnaire/rankings/priority", new { order = new[] { "Q-T01" } });
            Assert.Contains("closed", (await Api.ProblemAsync(ranking, HttpStatusCode.Conflict))["detail"]!.GetValue<string>());
            var message = await study.Experts[expert].PostAsJsonAsync($"{QuickStudy.S}/topics/{topic}/messages", new { body = "Too late?" });
            await Api.ProblemAsync(message, HttpStatusCode.Conflict);
        }
        await SettleAsync();
        Assert.Empty(Compare(before, Snapshot()));
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The study

    static string SurveyYaml(string id, bool englishOnly = false)
    {
        var yaml = Api.Survey("quick-start.yaml").Replace("id: quick-start", $"id: {id}");
        return englishOnly ? yaml.Replace("languages: [zh-CN, en]", "languages: [en]") : yaml;
    }

    const string RulesFlow = "{min_n: 5, questions: {importance: {iqr_max: 1, agree_min_pct: 70}, realization_year: {iqr_max: 5}}, "
        + "stability: {max_pct_changed: 15, wilcoxon_alpha: 0.05}, stop: {retire_when: consensus, max_rounds: 3, settled_pct: 80}}";

    const string ExpertsCsv = "name,email,organisation,org_type,region,work,expertise,language\n"
        + "\"Fuzz, First\",fuzz.first@example.org,Fuzz Lab,UNI,CN_EAST,Sensors,Q;A,en\n"
        + "Fuzz Second,fuzz.second@example.org,\"Fuzz \"\"Works\"\"\",ENT,CN_OTHER,Robots,A,zh-CN\n";

    const string LiteratureCsv = "Authors,Title,Year,Source title,DOI,Abstract,Author Keywords,Affiliations\n"
        + "\"Fuzz A.\",\"Superconducting qubits with error correction\",2023,\"Quantum\",\"10.1/fuzz.1\",\"Logical qubits, \"\"surface\"\" " +
        "codes\",\"qubit\",\"Lab, Beijing, China\"\n"
        + "\"Fuzz B.\",\"具身智能机器人抓取\",2024,\"Robotics\",\"10.1/fuzz.2\",\"Grasping robots\",\"robot\",\"Lab, Boston, United States\"\n";

    async Task<Study> SetUpAsync()
    {
        var admin = await _app.AdminAsync();
        var quick = await QuickStudy.CreateAsync(_app, experts: 6);
        var coordinator = quick.Coordinator;
        var experts = new Dictionary<string, long>();
        foreach (var e in (await coordinator.GetOkAsync("/api/experts")).AsArray())
            experts[e!["email"]!.GetValue<string>()] = e["id"]!.GetValue<long>();

        // C first: its report renders while the rest is set up.
        await Api.OkAsync(await coordinator.PostYamlAsync("/api/surveys", SurveyYaml(C, englishOnly: true)));
        var cPanel = (await coordinator.PostOkAsync($"/api/surveys/{C}/panel",
            new { members = Enumerable.Range(0, 5).Select(i => new { expert_id = experts[$"quick{i}@test.local"] }) })).AsArray();
        await coordinator.PostOkAsync($"/api/surveys/{C}/rounds");
        for (int i = 0; i < 5; i++)
        {
            var expert = _app.WithToken(cPanel[i]!["secret"]!.GetValue<string>());
            foreach (var topic in new[] { "Q-T02", "A-T02" })
                await expert.PutOkAsync($"/api/surveys/{C}/questionnaire/topics/{topic}", QuickStudy.Answer(3 + i % 3, 2040 + 5 * (i % 2)));
        }
        await Api.OkAsync(await coordinator.PostAsync($"/api/surveys/{C}/rounds/1/close", null));
        // C: literature and two analyses, so that every review decision has an open proposal to act on.
        using (var form = new MultipartFormDataContent { { new StringContent(LiteratureExport.Scopus(perTheme: 10)), "file", "scopus.csv" } })
            await Api.OkAsync(await coordinator.PostAsync($"/api/surveys/{C}/insights/records/import", form));
        var analyses = new List<long>();
        foreach (var seed in new[] { 42, 7 })
            analyses.Add((await coordinator.PostOkAsync($"/api/surveys/{C}/insights/analyses", new { k = 3, seed }))["id"]!.GetValue<long>());
        await SettleAsync();
        var proposals = (await coordinator.GetOkAsync($"/api/surveys/{C}/insights/proposals?status=open")).AsArray();
        long Proposal(long analysis, string word) => LiteratureExport.About(proposals, analysis, word)["id"]!.GetValue<long>();

        // A, round 1: Q-T01 reaches consensus (and retires); the others are spread (4 or 5, 2040 or 2045) and go on.
        for (int e = 0; e < 6; e++)
        {
            await quick.Experts[e].PutOkAsync($"{QuickStudy.S}/questionnaire/profile",
                new { answers = new { org_type = "UNI", region = e % 2 == 0 ? "CN_EAST" : "ABROAD" } });
            foreach (var topic in QuickStudy.Topics)
                await quick.AnswerAsync(e, topic, topic == "Q-T01" ? QuickStudy.Answer(7, 2035, feasibility: 8)
                    : QuickStudy.Answer(4 + e % 2, 2040 + 5 * (e % 2)));
        }
        await quick.Experts[0].PutOkAsync($"{QuickStudy.S}/questionnaire/rankings/priority", new { order = QuickStudy.Topics });
        var first = await quick.Experts[1].PostOkAsync($"{QuickStudy.S}/topics/Q-T02/messages", new { body = "Round 1: the cost matters most." });
        var other = await quick.Experts[2].PostOkAsync($"{QuickStudy.S}/topics/A-T02/messages", new { body = "Round 1: robots in warehouses first." });
        await quick.CloseAsync(1);
        await quick.OpenAsync();

        var study = new Study
        {
            Experts = experts,
            Callers = new()
            {
                [Who.Anonymous] = _app.Anonymous(), [Who.Admin] = admin, [Who.Coordinator] = coordinator, [Who.Expert] = quick.Experts[0],
            },
            MemberA5 = quick.Members[5],
            Proposals = new()
            {
                ["accept"] = Proposal(analyses[0], "robot"), ["edit"] = Proposal(analyses[0], "qubit"), ["reject"] = Proposal(analyses[0], "seabed"),
                ["merge0"] = Proposal(analyses[1], "qubit"), ["merge1"] = Proposal(analyses[1], "seabed"), ["split"] = Proposal(analyses[1], "robot"),
            },
            VisibleMessage = first["id"]!.GetValue<long>(),
            OtherTopicMessage = other["id"]!.GetValue<long>(),
        };
        var topicsA = (await coordinator.GetOkAsync($"/api/surveys/{A}/topics")).AsArray().SelectMany(f => f!["topics"]!.AsArray()).ToList();
        study.RetiredTopic = topicsA.Where(t => t!["status"]!.GetValue<string>() == "retired").Select(t => t!["code"]!.GetValue<string>()).FirstOrDefault()
            ?? throw new InvalidOperationException("no topic of survey A retired after round 1");
        study.RoundTwoTopics = (await quick.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire")).AsObject()["fields"]!.AsArray()
            .SelectMany(f => f!["topics"]!.AsArray()).Select(t => t!["code"]!.GetValue<string>()).ToList();
        Assert.DoesNotContain(study.RetiredTopic, study.RoundTwoTopics);
        Assert.Contains("Q-T02", study.RoundTwoTopics);
        Assert.Contains("Q-T03", study.RoundTwoTopics);
        study.AnswerTopic = "Q-T03"; // expert 0 has no round-2 answer to it, so a value outside last round's IQR needs a rationale

        // A, round 2: answers inside last round's quartiles, rankings, a thread of messages, a hidden one.
        for (int e = 0; e < 6; e++)
            await quick.AnswerAsync(e, "Q-T02", QuickStudy.Answer(5, 2045, rationale: e % 2 == 0 ? "Unchanged view." : null));
        await quick.Experts[1].PutOkAsync($"{QuickStudy.S}/questionnaire/rankings/priority", new { order = study.RoundTwoTopics });
        await quick.Experts[4].PutOkAsync($"{QuickStudy.S}/questionnaire/language", new { language = "en" });
        await quick.Experts[2].PostOkAsync($"{QuickStudy.S}/topics/Q-T02/messages",
            new { body = "Round 2: agreed, and the supply chain.", reply_to = study.VisibleMessage });
        await coordinator.PostOkAsync($"{QuickStudy.S}/topics/Q-T02/messages", new { body = "Please keep to the topic." });
        var hidden = await quick.Experts[3].PostOkAsync($"{QuickStudy.S}/topics/Q-T02/messages", new { body = "Off topic." });
        study.HiddenMessage = hidden["id"]!.GetValue<long>();
        await Api.OkAsync(await coordinator.PostAsJsonAsync($"{QuickStudy.S}/messages/{study.HiddenMessage}/hide", new { reason = "Off topic" }));

        // Accounts: a second coordinator and two stakeholders (one with access to A); a published report.
        await admin.PostOkAsync("/api/users", new { email = "coordinator2@test.local", name = "Second coordinator", role = "coordinator",
            password = "coordinator-password" });
        foreach (var who in new[] { "stakeholder", "stakeholder2" })
            await admin.PostOkAsync("/api/users", new { email = $"{who}@test.local", name = who, role = "stakeholder", password = "stakeholder-password" });
        await coordinator.PostOkAsync($"/api/surveys/{A}/stakeholders", new { email = "stakeholder@test.local" });
        study.Callers[Who.Stakeholder] = await _app.SignInAsync("stakeholder@test.local", "stakeholder-password");
        await coordinator.PostOkAsync($"/api/surveys/{A}/reports/publish", new { kind = "round", round = 1, language = "en" });

        // B: a draft with a panel of two.
        await Api.OkAsync(await coordinator.PostYamlAsync("/api/surveys", SurveyYaml(B)));
        var bPanel = (await coordinator.PostOkAsync($"/api/surveys/{B}/panel",
            new { members = new[] { new { expert_id = experts["quick0@test.local"] }, new { expert_id = experts["quick1@test.local"] } } })).AsArray();
        study.MemberB0 = bPanel[0]!["member_id"]!.GetValue<long>();
        return study;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // One valid example per endpoint, with the hand-written invalid requests for its domain rules

    static string J(object value) => JsonSerializer.Serialize(value);

    static string Long(int length) => string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + i % 26)));

    static Dictionary<string, string> R(params (string Name, object Value)[] values) =>
        values.ToDictionary(v => v.Name, v => Convert.ToString(v.Value, CultureInfo.InvariantCulture)!);

    /// <summary>The example's JSON with one value set (a dotted path; numbers index arrays); a null value removes it.</summary>
    static string With(string json, string path, object? value)
    {
        var root = JsonNode.Parse(json)!;
        var segments = path.Split('.');
        var parent = root;
        foreach (var s in segments[..^1]) parent = int.TryParse(s, out var i) ? parent[i]! : parent[s]!;
        var last = segments[^1];
        var node = value is null ? null : value as JsonNode ?? JsonSerializer.SerializeToNode(value);
        if (parent is JsonArray array) array[int.Parse(last, CultureInfo.InvariantCulture)] = node;
        else if (value is null) parent.AsObject().Remove(last);
        else parent[last] = node;
        return root.ToJsonString();
    }

    List<Example> Table(Study s)
    {
        var topic = new { zh = "新的课题", en = "A new topic" };
        var answer = J(new
        {
            answers = new Dictionary<string, object>
            {
                ["familiarity"] = 3, ["importance"] = 5, ["feasibility"] = 7, ["realization_year"] = 2045,
                ["constraints"] = new[] { "C01", "C02" }, ["comment"] = "Sensors are close; the software is not.",
            },
            rationales = new Dictionary<string, string> { ["importance"] = "As before.", ["realization_year"] = "As before." },
        });
        var expert = J(new
        {
            name = "Fuzz Expert", email = "fuzz.expert@example.org", organisation = "Fuzz Institute", org_type = "UNI", region = "CN_EAST",
            work = "Testing", expertise = new[] { "Q" }, language = "en",
        });
        var expertUpdate = With(With(expert, "email", "quick0@test.local"), "name", "Quick Expert 0");
        var expertRules = new List<Extra>
        {
            new("email not an address", With(expert, "email", "not-an-email")),
            new("email without a dot", With(expert, "email", "a@b")),
            new("name blank", With(expert, "name", "   ")),
            new("language unknown", With(expert, "language", "fr")),
            new("expertise of 51", With(expert, "expertise", Enumerable.Range(0, 51).Select(i => $"F{i}").ToArray())),
        };
        (string, int)[] expertLimits = [("name", 200), ("organisation", 200), ("org_type", 200), ("region", 200), ("work", 200)];
        var report = J(new { kind = "round", round = 1, language = "en" });
        var reportRules = new List<Extra>
        {
            new("kind unknown", With(report, "kind", "weekly")),
            new("round report without round", With(report, "round", null)),
            new("round still open", With(report, "round", 2), Expect: 409),
            new("round that never was", With(report, "round", 99), Expect: 409),
            new("language unknown", With(report, "language", "fr")),
            new("language blank", With(report, "language", " ")),
        };
        var survey = SurveyYaml(NewSurvey);
        var surveyRules = new List<Extra>
        {
            new("min above max", survey.Replace("max: 7", "max: 0")),
            new("unknown question kind", survey.Replace("kind: rating", "kind: slider")),
            new("topic code twice", survey.Replace("code: Q-T02", "code: Q-T01")),
            new("no id", survey.Replace($"id: {NewSurvey}\n", "")),
            new("unsupported language", survey.Replace("languages: [zh-CN, en]", "languages: [zh-CN, fr]")),
            new("format version unknown", survey.Replace("foresight/survey-v1", "foresight/survey-v9")),
            new("id twice", survey + "\nid: another-id\n"),
            new("unknown top-level key", survey + "\nzzz_fuzz: 1\n"),
        };
        var topicChange = J(new { title = new { zh = "改写的课题", en = "Reworded topic" }, tags = new[] { "FRONTIER" }, field = "A", reason = "Clearer wording." });
        var merge = J(new { topics = new[] { "Q-T02", "Q-T03" }, code = "Q-M01", field = "Q", title = topic, reason = "They overlap." });
        var split = J(new
        {
            into = new object[]
            {
                new { code = "A-S01", title = new { zh = "第一部分", en = "First part" } },
                new { code = "A-S02", title = new { zh = "第二部分", en = "Second part" }, background = new { zh = "背景", en = "Background" }, field = "A",
                    tags = new[] { "FRONTIER" } },
            },
            reason = "Two ideas in one.",
        });
        var newTopic = J(new { code = "Q-T09", field = "Q", title = topic, background = new { zh = "背景", en = "Background" }, tags = new[] { "FRONTIER" },
            origin = "coordinator" });
        var message = J(new { body = "A thought on the cost.", reply_to = s.VisibleMessage });
        var selection = J(new { criteria = "Importance index above 60 and consensus.", topics = new[] { "Q-T02", "A-T02" },
            notes = new Dictionary<string, string> { ["Q-T02"] = "First." } });
        var ranking = J(new { order = s.RoundTwoTopics });

        return
        [
            new("POST", "/api/auth/signin", Who.Anonymous, Kind.Json, J(new { email = ForesightFactory.AdminEmail, password = ForesightFactory.AdminPassword }),
                [])
            {
                Extras =
                [
                    new("email blank", J(new { email = "", password = "x" })),
                    new("password blank", J(new { email = ForesightFactory.AdminEmail, password = "" })),
                    new("wrong password", J(new { email = ForesightFactory.AdminEmail, password = "not-the-password" }), Expect: 401),
                    new("unknown account", J(new { email = "nobody@test.local", password = "whatever-password" }), Expect: 401),
                ],
            },
            new("PUT", "/api/auth/password", Who.Stakeholder, Kind.Json, J(new { current = "stakeholder-password", @new = "another-long-password" }), [])
            {
                Extras =
                [
                    new("new password short", J(new { current = "stakeholder-password", @new = "short" })),
                    new("current blank", J(new { current = "", @new = "another-long-password" })),
                    new("current wrong", J(new { current = "not-the-password", @new = "another-long-password" })),
                ],
            },
            new("POST", "/api/users/", Who.Admin, Kind.Json, J(new { email = "new-user@test.local", name = "New user", role = "stakeholder",
                password = "a-long-password" }), [])
            {
                Extras =
                [
                    new("role unknown", J(new { email = "x@test.local", name = "X", role = "root" })),
                    new("role in capitals", J(new { email = "x@test.local", name = "X", role = "Admin" })),
                    new("email without @", J(new { email = "no-at-sign", name = "X", role = "stakeholder" })),
                    new("name blank", J(new { email = "x@test.local", name = " ", role = "stakeholder" })),
                    new("password short", J(new { email = "x@test.local", name = "X", role = "stakeholder", password = "short" })),
                    new("email taken", J(new { email = ForesightFactory.AdminEmail, name = "X", role = "admin" }), Expect: 409),
                ],
            },
            new("POST", "/api/surveys/", Who.Coordinator, Kind.Survey, survey, [])
            {
                Extras = [.. surveyRules, new("id taken", SurveyYaml(A), Expect: 409)],
            },
            new("POST", "/api/surveys/validate", Who.Coordinator, Kind.Survey, survey, []) { Extras = surveyRules },
            new("PUT", "/api/surveys/{survey}/definition", Who.Coordinator, Kind.Survey, SurveyYaml(B), R(("survey", B)))
            {
                Extras = [.. surveyRules.Select(e => e with { Body = e.Body.Replace($"id: {NewSurvey}", $"id: {B}") }),
                    new("another survey's file", SurveyYaml(NewSurvey))],
            },
            new("PUT", "/api/surveys/{survey}/rules", Who.Coordinator, Kind.Rules, RulesFlow, R(("survey", B)))
            {
                Extras =
                [
                    new("unknown question", RulesFlow.Replace("realization_year: {iqr_max: 5}", "nonexistent: {iqr_max: 5}")),
                    new("unknown key", RulesFlow.Replace("{min_n: 5,", "{zzz_fuzz: 1, min_n: 5,")),
                    new("max_rounds 0", RulesFlow.Replace("max_rounds: 3", "max_rounds: 0")),
                    new("settled_pct 150", RulesFlow.Replace("settled_pct: 80", "settled_pct: 150")),
                    new("min_n 0", RulesFlow.Replace("min_n: 5", "min_n: 0")),
                    new("no questions", "{min_n: 5}"),
                    new("round open", RulesFlow, R(("survey", A)), Expect: 409),
                ],
            },
            new("POST", "/api/surveys/{survey}/coordinators", Who.Admin, Kind.Json, J(new { email = "coordinator2@test.local" }), R(("survey", A)))
            {
                Extras =
                [
                    new("email blank", J(new { email = " " })),
                    new("no such account", J(new { email = "nobody@test.local" }), Expect: 404),
                    new("a stakeholder", J(new { email = "stakeholder@test.local" }), Expect: 400),
                ],
            },
            new("POST", "/api/surveys/{survey}/topics/", Who.Coordinator, Kind.Json, newTopic, R(("survey", B)))
            {
                Limits = [("title.zh", 1000), ("title.en", 1000), ("background.zh", 10000), ("background.en", 10000)],
                Extras =
                [
                    new("code with a space", With(newTopic, "code", "bad code")),
                    new("code blank", With(newTopic, "code", "")),
                    new("code starts with a hyphen", With(newTopic, "code", "-X1")),
                    new("code of 33", With(newTopic, "code", "Q" + new string('1', 32))),
                    new("field unknown", With(newTopic, "field", "ZZ")),
                    new("title in one language", With(newTopic, "title", new { en = "Only English" })),
                    new("title empty", With(newTopic, "title", new { })),
                    new("title blank", With(newTopic, "title", new { zh = " ", en = " " })),
                    new("21 tags", With(newTopic, "tags", Enumerable.Range(0, 21).Select(i => $"T{i}").ToArray())),
                    new("tag with a comma", With(newTopic, "tags", new[] { "A,B" })),
                    new("tag of 51", With(newTopic, "tags", new[] { Long(51) })),
                    new("origin unknown", With(newTopic, "origin", "alien")),
                    new("code taken", With(newTopic, "code", "Q-T01"), Expect: 409),
                    new("round open", newTopic, R(("survey", A)), Expect: 409),
                ],
            },
            new("PATCH", "/api/surveys/{survey}/topics/{code}", Who.Coordinator, Kind.Json, topicChange, R(("survey", B), ("code", "Q-T01")))
            {
                Limits = [("title.zh", 1000), ("title.en", 1000), ("reason", 2000)],
                Extras =
                [
                    new("nothing to change", "{}"),
                    new("only a reason", J(new { reason = "Why not." })),
                    new("field unknown", With(topicChange, "field", "ZZ")),
                    new("title in one language", With(topicChange, "title", new { en = "Only English" })),
                    new("no such topic", topicChange, R(("survey", B), ("code", "NOPE")), Expect: 404),
                    new("round open", topicChange, R(("survey", A), ("code", "Q-T02")), Expect: 409),
                ],
            },
            new("POST", "/api/surveys/{survey}/topics/merge", Who.Coordinator, Kind.Json, merge, R(("survey", B)))
            {
                Limits = [("title.zh", 1000), ("title.en", 1000)],
                Extras =
                [
                    new("one topic", With(merge, "topics", new[] { "Q-T02" })),
                    new("a topic twice", With(merge, "topics", new[] { "Q-T02", "Q-T02" })),
                    new("unknown topic", With(merge, "topics", new[] { "Q-T02", "NOPE" }), Expect: 404),
                    new("code taken", With(merge, "code", "Q-T01"), Expect: 409),
                    new("code with a space", With(merge, "code", "bad code")),
                    new("field unknown", With(merge, "field", "ZZ")),
                    new("title in one language", With(merge, "title", new { en = "Only English" })),
                ],
            },
            new("POST", "/api/surveys/{survey}/topics/{code}/split", Who.Coordinator, Kind.Json, split, R(("survey", B), ("code", "A-T01")))
            {
                Limits = [("into.0.title.en", 1000), ("into.1.background.zh", 10000)],
                Extras =
                [
                    new("one part", With(split, "into", new[] { new { code = "A-S01", title = topic } })),
                    new("codes the same", With(split, "into.1.code", "A-S01")),
                    new("code taken", With(split, "into.1.code", "A-T02"), Expect: 409),
                    new("code with a space", With(split, "into.0.code", "bad code")),
                    new("field unknown", With(split, "into.1.field", "ZZ")),
                    new("title in one language", With(split, "into.0.title", new { en = "Only English" })),
                    new("no such topic", split, R(("survey", B), ("code", "NOPE")), Expect: 404),
                ],
            },
            new("POST", "/api/experts/", Who.Coordinator, Kind.Json, expert, [])
            {
                Limits = expertLimits,
                Extras = [.. expertRules, new("email taken", With(expert, "email", "quick1@test.local"), Expect: 409)],
            },
            new("PUT", "/api/experts/{id:long}", Who.Coordinator, Kind.Json, expertUpdate, R(("id", s.Experts["quick0@test.local"])))
            {
                Limits = expertLimits,
                Extras = [.. expertRules, new("email of another expert", With(expertUpdate, "email", "quick1@test.local"), Expect: 409),
                    new("no such expert", expertUpdate, R(("id", 999999)), Expect: 404)],
            },
            new("POST", "/api/surveys/{survey}/insights/records/import", Who.Coordinator, Kind.Literature, LiteratureCsv, R(("survey", B)))
            {
                Extras =
                [
                    new("no row has a title", "Authors,Title,Year\n\"A\",\"\",2020\n\"B\",\"  \",2021\n"),
                    new("no row has a good year", "Authors,Title,Year\n\"A\",\"Quantum\",20x0\n"),
                    new("quote never closed", LiteratureCsv[..LiteratureCsv.IndexOf('\n')] + "\n\"Fuzz, \"Open quote,2020\n"),
                    new("JSONL without titles", "{\"abstract\": \"no title\"}\n{\"year\": 2020}\n"),
                ],
            },
            new("POST", "/api/surveys/{survey}/insights/analyses", Who.Coordinator, Kind.Json, J(new { k = 3, seed = 1 }), R(("survey", C)))
            {
                Limits = [("query", 500)],
                Extras =
                [
                    new("no record in the survey", J(new { k = 3 }), R(("survey", B))),
                    new("more topics than records allow", J(new { k = 20 })),
                    new("k of 1", J(new { k = 1 })),
                    new("k of 101", J(new { k = 101 })),
                    new("method unknown", J(new { method = "lda" })),
                    new("k_min above k_max", J(new { k_min = 9, k_max = 3 })),
                    new("years reversed", J(new { year_from = 2024, year_to = 2020 })),
                    new("source type unknown", J(new { source_types = new[] { "tweet" } })),
                    new("query of stop words", J(new { query = "the of and" })),
                    new("query matching nothing", J(new { query = "zebra" })),
                ],
            },
            new("POST", "/api/surveys/{survey}/insights/proposals/{id:long}/accept", Who.Coordinator, Kind.Json, J(new { code = "M-1" }),
                R(("survey", C), ("id", s.Proposals["accept"])))
            {
                Extras =
                [
                    new("code with a space", J(new { code = "bad code" })),
                    new("code taken", J(new { code = "Q-T01" }), Expect: 409),
                    new("field unknown", J(new { code = "M-1", field = "ZZ" })),
                    new("no such proposal", J(new { code = "M-1" }), R(("id", 999999)), Expect: 404),
                    new("another survey's proposal", J(new { code = "M-1" }), R(("survey", B)), Expect: 404),
                ],
            },
            new("POST", "/api/surveys/{survey}/insights/proposals/{id:long}/edit", Who.Coordinator, Kind.Json,
                J(new { code = "M-2", field = "Q", title = new { zh = "量子纠错", en = "Quantum error correction" },
                    background = new { zh = "背景", en = "Background" } }), R(("survey", C), ("id", s.Proposals["edit"])))
            {
                Limits = [("title.en", 1000), ("background.zh", 10000)],
                Extras =
                [
                    new("title empty", J(new { code = "M-2", title = new { } })),
                    new("no such proposal", J(new { code = "M-2", title = new { zh = "量子", en = "Quantum" } }), R(("id", 999999)), Expect: 404),
                ],
            },
            new("POST", "/api/surveys/{survey}/insights/proposals/merge", Who.Coordinator, Kind.Json,
                J(new { proposals = new[] { s.Proposals["merge0"], s.Proposals["merge1"] }, code = "M-3",
                    title = new { zh = "量子与深海", en = "Quantum and the deep sea" } }), R(("survey", C)))
            {
                Extras =
                [
                    new("one proposal", J(new { proposals = new[] { s.Proposals["merge0"] }, code = "M-3", title = new { zh = "量子", en = "Quantum" } })),
                    new("a proposal twice", J(new { proposals = new[] { s.Proposals["merge0"], s.Proposals["merge0"] }, code = "M-3",
                        title = new { zh = "量子", en = "Quantum" } })),
                    new("no such proposal", J(new { proposals = new[] { s.Proposals["merge0"], 999999 }, code = "M-3",
                        title = new { zh = "量子", en = "Quantum" } }), Expect: 404),
                ],
            },
            new("POST", "/api/surveys/{survey}/insights/proposals/{id:long}/split", Who.Coordinator, Kind.Json,
                J(new { into = new[] { new { code = "M-4", title = new { zh = "机器人抓取", en = "Robot grasping" } },
                    new { code = "M-5", title = new { zh = "仓储机器人", en = "Warehouse robots" } } } }),
                R(("survey", C), ("id", s.Proposals["split"])))
            {
                Extras =
                [
                    new("one part", J(new { into = new[] { new { code = "M-4", title = new { zh = "量子", en = "Quantum" } } } })),
                    new("codes the same", J(new { into = new[] { new { code = "M-4", title = new { zh = "量子", en = "Quantum" } },
                        new { code = "M-4", title = new { zh = "量子", en = "Quantum" } } } })),
                ],
            },
            new("POST", "/api/surveys/{survey}/insights/proposals/{id:long}/reject", Who.Coordinator, Kind.Json, J(new { note = "out of scope" }),
                R(("survey", C), ("id", s.Proposals["reject"])))
            {
                Limits = [("note", 2000)],
                Extras = [new("no such proposal", J(new { note = "x" }), R(("id", 999999)), Expect: 404)],
            },
            new("PUT", "/api/surveys/{survey}/insights/rounds/{round:int}/arguments/{topic}", Who.Coordinator, Kind.Json,
                J(new { clusters = Array.Empty<int>() }), R(("survey", C), ("round", 1), ("topic", "Q-T02")))
            {
                Extras =
                [
                    new("no such cluster", J(new { clusters = new[] { 5 } })),
                    new("round 2 has opened", J(new { clusters = Array.Empty<int>() }), R(("survey", A), ("topic", "Q-T02")), Expect: 409),
                    new("no such round", J(new { clusters = Array.Empty<int>() }), R(("round", 9)), Expect: 404),
                    new("topic not asked", J(new { clusters = Array.Empty<int>() }), R(("topic", "NOPE")), Expect: 404),
                ],
            },
            new("POST", "/api/experts/import", Who.Coordinator, Kind.Csv, ExpertsCsv, [])
            {
                Extras =
                [
                    new("unknown column", ExpertsCsv.Replace("language\n", "phone\n")),
                    new("extra column", ExpertsCsv.Replace("language\n", "language,phone\n")),
                    new("no email column", "name,organisation\nFuzz,Lab\n"),
                    new("column twice", ExpertsCsv.Replace("work,", "name,")),
                    new("header only", "name,email\n"),
                    new("row too short", ExpertsCsv + "Fuzz Third,fuzz.third@example.org\n"),
                    new("row too long", ExpertsCsv + "a,b@example.org,c,d,e,f,g,en,extra\n"),
                    new("email not an address", ExpertsCsv.Replace("fuzz.second@example.org", "not-an-email")),
                    new("email twice", ExpertsCsv.Replace("fuzz.second@example.org", "fuzz.first@example.org")),
                    new("language unknown", ExpertsCsv.Replace(",zh-CN\n", ",fr\n")),
                    new("name of 201", ExpertsCsv.Replace("Fuzz Second", Long(201))),
                    new("quote not closed", ExpertsCsv + "\"Fuzz Third,fuzz.third@example.org,,,,,,en\n"),
                    new("quote inside a field", ExpertsCsv + "Fuzz \"Third\",fuzz.third@example.org,,,,,,en\n"),
                    new("field over 100000", ExpertsCsv + $"{Long(100_001)},fuzz.third@example.org,,,,,,en\n"),
                ],
            },
            new("POST", "/api/surveys/{survey}/panel/", Who.Coordinator, Kind.Json,
                J(new { members = new[] { new { expert_id = s.Experts["quick2@test.local"], fields = new[] { "Q" } } } }), R(("survey", B)))
            {
                Extras =
                [
                    new("no members", J(new { members = Array.Empty<object>() })),
                    new("member without expert", J(new { members = new[] { new { } } })),
                    new("no such expert", J(new { members = new[] { new { expert_id = 999999 } } })),
                    new("no such e-mail", J(new { members = new[] { new { email = "nobody@example.org" } } })),
                    new("field unknown", J(new { members = new[] { new { expert_id = s.Experts["quick2@test.local"], fields = new[] { "ZZ" } } } })),
                    new("no fields", J(new { members = new[] { new { expert_id = s.Experts["quick2@test.local"], fields = Array.Empty<string>() } } })),
                    new("on the panel already", J(new { members = new[] { new { expert_id = s.Experts["quick0@test.local"] } } })),
                    new("listed twice", J(new { members = new[] { new { expert_id = s.Experts["quick2@test.local"] },
                        new { expert_id = s.Experts["quick2@test.local"] } } })),
                ],
            },
            new("PUT", "/api/surveys/{survey}/panel/{member:long}/fields", Who.Coordinator, Kind.Json, J(new { fields = new[] { "Q" } }),
                R(("survey", A), ("member", s.MemberA5)))
            {
                Extras =
                [
                    new("no fields", J(new { fields = Array.Empty<string>() })),
                    new("field unknown", J(new { fields = new[] { "ZZ" } })),
                    new("no such member", J(new { fields = new[] { "Q" } }), R(("survey", A), ("member", 999999)), Expect: 404),
                    new("another survey's member", J(new { fields = new[] { "Q" } }), R(("survey", A), ("member", s.MemberB0)), Expect: 404),
                ],
            },
            new("POST", "/api/surveys/{survey}/rounds/", Who.Coordinator, Kind.Json, J(new { deadline = "2099-01-01T00:00:00+00:00" }), R(("survey", B)))
            {
                Extras =
                [
                    new("deadline past", J(new { deadline = "2001-01-01T00:00:00Z" })),
                    new("deadline not a date", J(new { deadline = "next Friday" })),
                    new("deadline month 13", J(new { deadline = "2099-13-45T00:00:00Z" })),
                    new("a round is open", J(new { deadline = "2099-01-01T00:00:00+00:00" }), R(("survey", A)), Expect: 409),
                ],
            },
            new("PUT", "/api/surveys/{survey}/rounds/{number:int}/deadline", Who.Coordinator, Kind.Json, J(new { deadline = "2099-01-01T00:00:00+00:00" }),
                R(("survey", A), ("number", 2)))
            {
                Extras =
                [
                    new("deadline past", J(new { deadline = "2001-01-01T00:00:00Z" })),
                    new("deadline not a date", J(new { deadline = "tomorrow" })),
                    new("round closed", J(new { deadline = "2099-01-01T00:00:00+00:00" }), R(("survey", A), ("number", 1)), Expect: 409),
                    new("no such round", J(new { deadline = "2099-01-01T00:00:00+00:00" }), R(("survey", A), ("number", 99)), Expect: 404),
                ],
            },
            new("PUT", "/api/surveys/{survey}/rounds/{number:int}/topics/{code}/decision", Who.Coordinator, Kind.Json,
                J(new { decision = "carry", note = "Worth asking again." }), R(("survey", C), ("number", 1), ("code", "A-T02")))
            {
                Limits = [("note", 2000)],
                Extras =
                [
                    new("decision unknown", J(new { decision = "maybe" })),
                    new("decision in capitals", J(new { decision = "CARRY" })),
                    new("decision blank", J(new { decision = "" })),
                    new("no such topic", J(new { decision = "carry" }), R(("survey", C), ("number", 1), ("code", "NOPE")), Expect: 404),
                    new("no such round", J(new { decision = "carry" }), R(("survey", C), ("number", 2)), Expect: 404),
                    new("round open", J(new { decision = "carry" }), R(("survey", A), ("number", 2), ("code", "Q-T02")), Expect: 409),
                ],
            },
            new("PUT", "/api/surveys/{survey}/questionnaire/topics/{code}", Who.Expert, Kind.Json, answer, R(("survey", A), ("code", s.AnswerTopic)))
            {
                Limits = [("rationales.importance", 2000), ("answers.comment", 500)],
                Extras =
                [
                    .. new object[] { 0, 8, -3, 100, 6.5 }.Select(v => new Extra($"importance {v}", With(answer, "answers.importance", v))),
                    new("importance 1e9", With(answer, "answers.importance", JsonNode.Parse("1e9"))),
                    .. new object[] { 0, 10, 9.5 }.Select(v => new Extra($"feasibility {v}", With(answer, "answers.feasibility", v))),
                    .. new object[] { 2024, 2061, 0, 99999, -2045, 2045.5, "2045x", "soon" }.Select(v =>
                        new Extra($"year {v}", With(answer, "answers.realization_year", v))),
                    .. new object[] { 0, 5, "5", "quite", 2.5 }.Select(v => new Extra($"familiarity {v}", With(answer, "answers.familiarity", v))),
                    new("constraint unknown", With(answer, "answers.constraints", new[] { "C09" })),
                    new("constraint twice", With(answer, "answers.constraints", new[] { "C01", "C01" })),
                    new("three constraints of two", With(answer, "answers.constraints", new[] { "C01", "C02", "C03" })),
                    new("no constraints", With(answer, "answers.constraints", Array.Empty<string>())),
                    new("comment empty", With(answer, "answers.comment", "")),
                    new("comment blank", With(answer, "answers.comment", "    ")),
                    new("dont_know not offered", With(answer, "answers.importance", "dont_know")),
                    new("never not offered", With(answer, "answers.feasibility", "never")),
                    new("not familiar, yet answered", J(new { answers = new { familiarity = 1, importance = 5 } })),
                    new("unknown question", With(answer, "answers.nonexistent_question", 3)),
                    new("rationale for an unknown question", With(answer, "rationales.nonexistent_question", "Because.")),
                    new("importance outside last IQR without rationale", J(new { answers = new { importance = 7 } })),
                    new("year outside last IQR without rationale", J(new { answers = new { realization_year = 2060 } })),
                    new("nothing", "{}"),
                    new("no answers", J(new { answers = new { } })),
                    new("no rationales", J(new { rationales = new { } })),
                    new("201 answers", J(new { answers = Enumerable.Range(0, 201).ToDictionary(i => $"q{i}", i => i) })),
                    new("topic not in the round", answer, R(("survey", A), ("code", s.RetiredTopic)), Expect: 404),
                    new("no such topic", answer, R(("survey", A), ("code", "NO-SUCH")), Expect: 404),
                    new("Idempotency-Key of 201", answer, Headers: [("Idempotency-Key", Long(201))]),
                ],
            },
            new("PUT", "/api/surveys/{survey}/questionnaire/rankings/{ranking}", Who.Expert, Kind.Json, ranking, R(("survey", A), ("ranking", "priority")))
            {
                Extras =
                [
                    new("empty order", J(new { order = Array.Empty<string>() })),
                    new("a topic twice", J(new { order = new[] { "Q-T02", "Q-T02" } })),
                    new("unknown topic", J(new { order = new[] { "NOPE" } })),
                    new("topic not in the round", J(new { order = new[] { s.RetiredTopic } })),
                    new("1001 topics", J(new { order = Enumerable.Range(0, 1001).Select(i => $"T{i}").ToArray() })),
                    new("no such ranking", ranking, R(("survey", A), ("ranking", "nope")), Expect: 404),
                ],
            },
            new("PUT", "/api/surveys/{survey}/questionnaire/profile", Who.Expert, Kind.Json, J(new { answers = new { org_type = "ENT", region = "CN_OTHER" } }),
                R(("survey", A)))
            {
                Extras =
                [
                    new("no answers", J(new { answers = new { } })),
                    new("option unknown", J(new { answers = new { org_type = "XYZ" } })),
                    new("option in lower case", J(new { answers = new { org_type = "uni" } })),
                    new("option blank", J(new { answers = new { org_type = "" } })),
                    new("question unknown", J(new { answers = new { age = "30" } })),
                ],
            },
            new("PUT", "/api/surveys/{survey}/questionnaire/language", Who.Expert, Kind.Json, J(new { language = "zh-CN" }), R(("survey", A)))
            {
                Extras = [.. new[] { "fr", "", "  ", "de-DE", "klingon" }.Select(l => new Extra($"language '{l}'", J(new { language = l })))],
            },
            new("POST", "/api/surveys/{survey}/topics/{code}/messages", Who.Expert, Kind.Json, message, R(("survey", A), ("code", "Q-T02")))
            {
                Limits = [("body", 4000)],
                Extras =
                [
                    new("body empty", With(message, "body", "")),
                    new("body blank", With(message, "body", " \n\t ")),
                    new("reply to a hidden message", With(message, "reply_to", s.HiddenMessage)),
                    new("reply to another topic's message", With(message, "reply_to", s.OtherTopicMessage)),
                    new("reply to no message", With(message, "reply_to", 999999)),
                    new("no such topic", message, R(("survey", A), ("code", "NOPE")), Expect: 404),
                ],
            },
            new("POST", "/api/surveys/{survey}/messages/{id:long}/hide", Who.Coordinator, Kind.Json, J(new { reason = "Not about the topic." }),
                R(("survey", A), ("id", s.VisibleMessage)))
            {
                Limits = [("reason", 1000)],
                Extras =
                [
                    new("no such message", J(new { reason = "Gone." }), R(("survey", A), ("id", 999999)), Expect: 404),
                    new("another survey's message", J(new { reason = "Gone." }), R(("survey", B), ("id", s.VisibleMessage)), Expect: 404),
                ],
            },
            new("POST", "/api/surveys/{survey}/key-technologies/", Who.Coordinator, Kind.Json, selection, R(("survey", C)))
            {
                Limits = [("criteria", 10000)],
                Extras =
                [
                    new("criteria blank", With(selection, "criteria", "  ")),
                    new("no topics", With(selection, "topics", Array.Empty<string>())),
                    new("a topic twice", With(selection, "topics", new[] { "Q-T02", "Q-T02" })),
                    new("unknown topic", With(selection, "topics", new[] { "NOPE" })),
                    new("round open", selection, R(("survey", A)), Expect: 409),
                    new("no round yet", selection, R(("survey", B)), Expect: 409),
                ],
            },
            new("POST", "/api/surveys/{survey}/stakeholders/", Who.Coordinator, Kind.Json, J(new { email = "stakeholder2@test.local" }), R(("survey", A)))
            {
                Extras =
                [
                    new("email blank", J(new { email = "" })),
                    new("no such account", J(new { email = "nobody@test.local" }), Expect: 404),
                    new("a coordinator", J(new { email = "coordinator2@test.local" }), Expect: 400),
                ],
            },
            new("POST", "/api/surveys/{survey}/reports", Who.Coordinator, Kind.Json, report, R(("survey", A))) { Extras = reportRules },
            new("POST", "/api/surveys/{survey}/reports/publish", Who.Coordinator, Kind.Json, report, R(("survey", A))) { Extras = reportRules },
        ];
    }

    /// <summary>
    /// Every POST/PUT/PATCH endpoint of the app, from its endpoint data source: those with a body must have an example,
    /// those without must be listed as such. Returns each example with the endpoint's body size limit.
    /// </summary>
    List<(Example Example, long Limit, Type? RequestType)> BodyEndpoints(List<Example> table)
    {
        var byKey = table.ToDictionary(e => e.Key);
        var found = new List<(Example, long, Type?)>();
        var unknown = new List<string>();
        var unseen = Bodiless.Concat(NotApi.Keys).ToHashSet();
        foreach (var endpoint in _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = endpoint.RoutePattern.RawText ?? "";
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            unseen.Remove(pattern);
            foreach (var m in methods ?? []) unseen.Remove($"{m} {pattern}");
            if (methods is null)
            {
                if (endpoint.Metadata.GetMetadata<PageActionDescriptor>() is not null) continue; // form posts, see PageRequests
                if (!NotApi.ContainsKey(pattern)) unknown.Add($"{pattern} (any method): not the API? list it in NotApi with the reason");
                continue;
            }
            foreach (var method in methods.Where(m => m is "POST" or "PUT" or "PATCH"))
            {
                var key = $"{method} {pattern}";
                var accepts = endpoint.Metadata.GetMetadata<IAcceptsMetadata>();
                var takesBody = accepts is not null;
                if (takesBody && byKey.Remove(key, out var example))
                    found.Add((example, endpoint.Metadata.GetMetadata<BodyLimit>()?.Bytes ?? BodyLimits.Default, accepts!.RequestType));
                else if (takesBody) unknown.Add($"{key} takes a body but has no example in the fuzz table");
                else if (!Bodiless.Contains(key)) unknown.Add($"{key} takes no body (is that so?); list it in Bodiless");
            }
        }
        unknown.AddRange(byKey.Keys.Select(k => $"{k} is in the fuzz table but is not an endpoint taking a body"));
        unknown.AddRange(unseen.Select(k => $"{k} is listed as bodiless or not the API, but there is no such endpoint"));
        Assert.True(unknown.Count == 0, string.Join("\n", unknown));
        return found;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The generator: every body it makes is invalid for a reason given in its label

    static readonly byte[][] BadUtf8 = [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xE2, 0x82], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFE, 0xFF]];

    static IEnumerable<Bad> Generate(Example example, long limit, Type? requestType, Random random, int count)
    {
        var must = new List<Bad>();
        var pool = new List<Func<Bad>>();
        var body = Encoding.UTF8.GetBytes(example.Body);
        var type = example.ContentType;

        // Size: the valid example padded to one byte more than the endpoint takes, with and without Content-Length.
        var padded = Pad(body, limit + 1 + random.Next(0, 4096));
        must.Add(new Bad("oversized", padded, type, Expect: 413));
        must.Add(new Bad("oversized, chunked", padded, type, Chunked: true, Expect: 413));
        must.Add(new Bad("empty", [], type));
        foreach (var e in example.Extras)
            must.Add(new Bad(e.Label, Encoding.UTF8.GetBytes(e.Body), type, e.Route is null ? null
                : Fill(example.Pattern, new(example.Route.Concat(e.Route).GroupBy(x => x.Key).Select(g => g.Last()))), Expect: e.Expect, Headers: e.Headers));

        pool.Add(() => new Bad("random bytes", RandomBytes(random), type));
        pool.Add(() => new Bad("random text", Encoding.UTF8.GetBytes(RandomText(random)), type));
        pool.Add(() => new Bad("invalid UTF-8 inserted", Insert(body, random.Next(0, body.Length + 1), BadUtf8[random.Next(BadUtf8.Length)]), type));
        if (example.Extras.Count > 0)
            pool.Add(() => { var e = example.Extras[random.Next(example.Extras.Count)]; return new Bad(e.Label, Encoding.UTF8.GetBytes(e.Body), type,
                e.Route is null ? null : Fill(example.Pattern, new(example.Route.Concat(e.Route).GroupBy(x => x.Key).Select(g => g.Last()))), Expect: e.Expect,
                Headers: e.Headers); });

        if (example.Kind == Kind.Json) JsonMutations(example, requestType ?? throw new InvalidOperationException($"{example.Key}: no request type"), body,
            random, must, pool);
        else FileMutations(example, body, random, must, pool);

        foreach (var bad in must.Take(count)) yield return bad;
        for (int i = must.Count; i < count; i++) yield return pool[random.Next(pool.Count)]();
    }

    static void JsonMutations(Example example, Type bodyType, byte[] body, Random random, List<Bad> must, List<Func<Bad>> pool)
    {
        const string json = "application/json";
        var root = JsonNode.Parse(example.Body)!;
        var nodes = Paths(root).ToList();
        var typed = new List<(List<object> Path, Type Type, bool Required)>();
        Walk(root, bodyType, null, [], typed);

        must.Add(new Bad("JSON null", "null"u8.ToArray(), json));
        must.Add(new Bad("JSON array", Encoding.UTF8.GetBytes($"[{example.Body}]"), json));
        foreach (var scalar in new[] { "\"text\"", "42", "true" }) must.Add(new Bad($"JSON scalar {scalar}", Encoding.UTF8.GetBytes(scalar), json));
        // Only JSON is taken; application/*+json counts as JSON, so it is not among these.
        foreach (var wrong in new string?[] { "text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=fuzz",
            null })
            must.Add(new Bad($"content type {wrong ?? "missing"}", body, wrong, Expect: 415));
        // A non-nullable member set to null (a list's element, or a property the record declares without '?').
        foreach (var (path, _, required) in typed.Where(t => t.Required))
            must.Add(new Bad($"null at {string.Join('.', path)}", Encoding.UTF8.GetBytes(Set(root, path, null).ToJsonString()), json));
        foreach (var (path, max) in example.Limits)
            must.Add(new Bad($"{path} of {max + 1}", Encoding.UTF8.GetBytes(With(example.Body, path, Long(max + 1 + random.Next(0, 50)))), json));

        pool.Add(() => new Bad("truncated", body[..random.Next(1, body.Length)], json));
        pool.Add(() =>
        {
            // A value of the wrong JSON type: never one the member could take (no numeric strings, no null).
            var (path, node) = nodes[random.Next(nodes.Count)];
            JsonNode?[] options = node switch
            {
                JsonObject => [new JsonArray(), "x#", 987654321.5],
                JsonArray => [new JsonObject(), "x#", 987654321.5],
                JsonValue v when v.GetValueKind() == JsonValueKind.String => [987654321.5, new JsonArray(), new JsonObject(), true],
                JsonValue v when v.GetValueKind() == JsonValueKind.Number => ["x#", new JsonArray(), new JsonObject()],
                _ => ["x#", 7],
            };
            var value = options[random.Next(options.Length)];
            return new Bad($"wrong type at {string.Join('.', path)}", Encoding.UTF8.GetBytes(Set(root, path, value).ToJsonString()), json);
        });
        var whole = typed.Where(t => (Nullable.GetUnderlyingType(t.Type) ?? t.Type) is var u && (u == typeof(int) || u == typeof(long))).ToList();
        if (whole.Count > 0)
            pool.Add(() =>
            {
                // Every whole number a body takes is an id or a round number: negative ones name nothing.
                var (path, _, _) = whole[random.Next(whole.Count)];
                var raw = new[] { "1e309", "99999999999999999999999", "1.5", "-1", "2147483648" }[random.Next(5)];
                return new Bad($"number {raw} at {string.Join('.', path)}", Raw(root, path, Encoding.UTF8.GetBytes(raw)), json);
            });
        pool.Add(() =>
        {
            // Nesting deeper than the 64 levels the JSON reader takes.
            var (path, _) = nodes[random.Next(nodes.Count)];
            int depth = random.Next(65, 20000);
            var deep = Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
            return new Bad($"nested {depth} deep at {string.Join('.', path)}", Raw(root, path, deep), json);
        });
        var strings = nodes.Where(n => n.Node is JsonValue v && v.GetValueKind() == JsonValueKind.String).ToList();
        if (strings.Count > 0) pool.Add(() =>
        {
            // Invalid UTF-8 inside a string value or a property name: not JSON (RFC 8259 wants UTF-8).
            var bytes = BadUtf8[random.Next(BadUtf8.Length)];
            var (path, _) = strings[random.Next(strings.Count)];
            if (random.Next(2) == 0 || path[^1] is int)
                return new Bad($"invalid UTF-8 in the string at {string.Join('.', path)}",
                    Raw(root, path, [(byte)'"', (byte)'o', .. bytes, (byte)'k', (byte)'"']), json);
            var renamed = root.DeepClone();
            var parent = Get(renamed, path[..^1]).AsObject();
            var key = (string)path[^1];
            var value = parent[key]!.DeepClone();
            parent.Remove(key);
            parent["\u0001KEY\u0001"] = value;
            var text = Encoding.UTF8.GetBytes(renamed.ToJsonString());
            return new Bad($"invalid UTF-8 in the name {key}", Replace(text, Encoding.UTF8.GetBytes(JsonSerializer.Serialize("\u0001KEY\u0001")),
                [(byte)'"', .. Encoding.UTF8.GetBytes(key), .. bytes, (byte)'"']), json);
        });
    }

    static void FileMutations(Example example, byte[] body, Random random, List<Bad> must, List<Func<Bad>> pool)
    {
        var type = example.ContentType;
        var text = example.Body;
        must.Add(new Bad("blank", "  \n \n"u8.ToArray(), type));
        must.Add(new Bad("only a BOM", [0xEF, 0xBB, 0xBF], type));
        must.Add(new Bad("form instead of a file", body, "application/x-www-form-urlencoded"));
        must.Add(new Bad("multipart without a boundary", body, "multipart/form-data"));
        must.Add(new Bad("multipart that is not", body, "multipart/form-data; boundary=fuzz"));
        must.Add(new Bad("multipart with no file", Multipart("text", null, body), "multipart/form-data; boundary=fuzz"));
        pool.Add(() => new Bad("multipart with random bytes as the file", Multipart("file", "upload.bin", RandomBytes(random)),
            "multipart/form-data; boundary=fuzz"));
        pool.Add(() => new Bad("multipart cut short", Multipart("file", "upload.txt", body)[..random.Next(1, 120)], "multipart/form-data; boundary=fuzz"));

        if (example.Kind is Kind.Survey or Kind.Rules)
        {
            must.Add(new Bad("YAML null", "null\n"u8.ToArray(), type));
            must.Add(new Bad("YAML list", "[1, 2, 3]\n"u8.ToArray(), type));
            must.Add(new Bad("YAML scalar", "just words\n"u8.ToArray(), type));
            must.Add(new Bad("two documents", Encoding.UTF8.GetBytes(text + "\n---\n" + text), type));
            // Within the rules' 64 KiB and the survey's 5 MiB, bar the last; before the depth check these ended the process.
            foreach (var depth in new[] { 1000, 30_000, 1_000_000 })
                must.Add(new Bad($"flow nested {depth} deep", Encoding.UTF8.GetBytes("questions: " + new string('[', depth) + new string(']', depth) + "\n"),
                    type));
            must.Add(new Bad("block nested 30000 deep", Encoding.UTF8.GetBytes("questions:\n  " + string.Concat(Enumerable.Repeat("- ", 30_000)) + "x\n"),
                type));
            must.Add(new Bad("alias bomb", Encoding.UTF8.GetBytes(AliasBomb(example.Kind == Kind.Rules ? "questions" : "fields")), type));
            pool.Add(() =>
            {
                // A line the format cannot take: an unknown key, and an unclosed flow list besides.
                var lines = text.Split('\n').ToList();
                int at = random.Next(0, lines.Count);
                var indent = lines[at].Length - lines[at].TrimStart(' ').Length;
                lines.Insert(at, new string(' ', indent) + "zzz_fuzz: [unclosed");
                return new Bad("bad line inserted", Encoding.UTF8.GetBytes(string.Join('\n', lines)), type);
            });
        }
        if (example.Kind == Kind.Survey)
        {
            // Every prefix that ends before 'fields:' lacks the survey's fields.
            int fields = text.IndexOf("\nfields:", StringComparison.Ordinal);
            pool.Add(() => new Bad("truncated before the fields", Encoding.UTF8.GetBytes(text[..random.Next(1, fields)]), type));
            var indented = text.Split('\n').Select((l, i) => (l, i)).Where(x => Regex.IsMatch(x.l, @"^ +(- |[a-z_]+:)")).Select(x => x.i).ToList();
            pool.Add(() =>
            {
                var lines = text.Split('\n');
                int at = indented[random.Next(indented.Count)];
                lines[at] = "\t" + lines[at].TrimStart(' ');
                return new Bad("tab indentation", Encoding.UTF8.GetBytes(string.Join('\n', lines)), type);
            });
        }
        if (example.Kind == Kind.Rules)
        {
            // The rules are one flow mapping: a prefix without its closing brace is not YAML.
            pool.Add(() => new Bad("truncated", Encoding.UTF8.GetBytes(text[..random.Next(1, text.Length)]), type));
            pool.Add(() => { int at = random.Next(1, text.Length - 1); return new Bad("stray bracket", Encoding.UTF8.GetBytes(text[..at] + "]" + text[at..]),
                type); });
        }
        if (example.Kind == Kind.Literature)
        {
            // Whole-file faults only: a literature import skips a bad row and stores the others (reported by line), so
            // a file changes nothing only when no row can be read.
            int header = text.IndexOf('\n');
            pool.Add(() => new Bad("truncated in the header", Encoding.UTF8.GetBytes(text[..random.Next(1, text.IndexOf("Title", StringComparison.Ordinal)
                + 3)]), type));
            pool.Add(() => new Bad("header only", Encoding.UTF8.GetBytes(text[..(header + 1)]), type));
            pool.Add(() => new Bad("unknown header", Encoding.UTF8.GetBytes("zzz_" + random.Next(1000) + ",qqq\n" + text[(header + 1)..]), type));
        }
        if (example.Kind == Kind.Csv)
        {
            int header = text.IndexOf('\n');
            int quote = text.IndexOf('"') + 1;
            // Within the header there is no expert yet; within a quoted field the quote is never closed.
            pool.Add(() => new Bad("truncated in the header", Encoding.UTF8.GetBytes(text[..random.Next(1, header + 1)]), type));
            pool.Add(() => new Bad("truncated in a quoted field", Encoding.UTF8.GetBytes(text[..random.Next(quote, text.IndexOf('"', quote))]), type));
            pool.Add(() =>
            {
                var columns = Foresight.Server.Features.Experts.ExpertService.CsvColumns.OrderBy(_ => random.Next()).Take(random.Next(1, 9))
                    .Append("zzz_" + random.Next(1000)).ToList();
                return new Bad("unknown column", Encoding.UTF8.GetBytes(string.Join(',', columns) + "\n" + string.Join(',', columns.Select(_ => "x")) + "\n"),
                    type);
            });
        }
    }

    /// <summary>Ten levels of ten aliases each: 10^10 nodes if anything expanded them.</summary>
    static string AliasBomb(string key)
    {
        var sb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 10; i++)
            sb.Append($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        return sb.Append($"{key}: *a9\n").ToString();
    }

    static byte[] Multipart(string name, string? fileName, byte[] content) =>
    [
        .. Encoding.UTF8.GetBytes($"--fuzz\r\nContent-Disposition: form-data; name=\"{name}\"{(fileName is null ? "" : $"; filename=\"{fileName}\"")}\r\n\r\n"),
        .. content,
        .. "\r\n--fuzz--\r\n"u8.ToArray(),
    ];

    static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(1, 2048)];
        random.NextBytes(bytes);
        if (bytes[0] is (byte)'{' or (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') bytes[0] = (byte)'#'; // never the start of a JSON object
        return bytes;
    }

    static string RandomText(Random random)
    {
        var chars = new char[random.Next(1, 512)];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)random.Next(32, 127);
        if (chars[0] is '{' or ' ') chars[0] = '#';
        return new string(chars);
    }

    static byte[] Pad(byte[] body, long length)
    {
        var padded = new byte[Math.Max(length, body.Length)];
        body.CopyTo(padded, 0);
        padded.AsSpan(body.Length).Fill((byte)' ');
        return padded;
    }

    static byte[] Insert(byte[] body, int at, byte[] insert) => [.. body[..at], .. insert, .. body[at..]];

    static byte[] Replace(byte[] text, byte[] marker, byte[] with)
    {
        int at = text.AsSpan().IndexOf(marker);
        return at < 0 ? throw new InvalidOperationException("marker not found") : [.. text[..at], .. with, .. text[(at + marker.Length)..]];
    }

    /// <summary>The JSON with the value at a path replaced by raw bytes (which JsonNode could not hold).</summary>
    static byte[] Raw(JsonNode root, List<object> path, byte[] raw)
    {
        const string marker = "\u0001RAW\u0001";
        var text = Encoding.UTF8.GetBytes(Set(root, path, marker).ToJsonString());
        return Replace(text, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(marker)), raw);
    }

    static IEnumerable<(List<object> Path, JsonNode Node)> Paths(JsonNode node, List<object>? path = null)
    {
        path ??= [];
        if (node is JsonObject o)
            foreach (var (k, v) in o)
            {
                List<object> p = [.. path, k];
                if (v is null) continue;
                yield return (p, v);
                foreach (var x in Paths(v, p)) yield return x;
            }
        else if (node is JsonArray a)
            for (int i = 0; i < a.Count; i++)
            {
                List<object> p = [.. path, i];
                if (a[i] is not { } v) continue;
                yield return (p, v);
                foreach (var x in Paths(v, p)) yield return x;
            }
    }

    static JsonNode Get(JsonNode root, List<object> path) =>
        path.Aggregate(root, (n, s) => s is int i ? n[i]! : n[(string)s]!);

    static JsonNode Set(JsonNode root, List<object> path, JsonNode? value)
    {
        var copy = root.DeepClone();
        var parent = Get(copy, path[..^1]);
        if (path[^1] is int i) parent.AsArray()[i] = value;
        else parent[(string)path[^1]] = value;
        return copy;
    }

    static readonly NullabilityInfoContext Nullability = new();

    /// <summary>Each position in the example with the type the server reads it as, and whether null is out of the question there.</summary>
    static void Walk(JsonNode? node, Type type, NullabilityInfo? info, List<object> path, List<(List<object>, Type, bool)> into)
    {
        var u = Nullable.GetUnderlyingType(type) ?? type;
        if (u == typeof(JsonElement) || node is null) return;
        if (node is JsonObject o)
        {
            var dictionary = u.GetInterfaces().Append(u).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>));
            foreach (var (k, v) in o)
            {
                List<object> p = [.. path, k];
                if (dictionary is not null)
                {
                    // A map's values are never set to null here: whether null means "clear" is the endpoint's to say.
                    var valueType = dictionary.GetGenericArguments()[1];
                    into.Add((p, valueType, false));
                    Walk(v, valueType, info?.GenericTypeArguments.ElementAtOrDefault(1), p, into);
                    continue;
                }
                var property = u.GetProperties().FirstOrDefault(x => JsonNamingPolicy.SnakeCaseLower.ConvertName(x.Name) == k)
                    ?? throw new InvalidOperationException($"{u.Name} has no property for '{k}'");
                var pi = Nullability.Create(property);
                into.Add((p, property.PropertyType, NotNull(property.PropertyType, pi)));
                Walk(v, property.PropertyType, pi, p, into);
            }
        }
        else if (node is JsonArray a)
        {
            var element = u.IsArray ? u.GetElementType()! : u.GetGenericArguments()[0];
            var ei = info?.ElementType ?? info?.GenericTypeArguments.FirstOrDefault();
            for (int i = 0; i < a.Count; i++)
            {
                List<object> p = [.. path, i];
                into.Add((p, element, NotNull(element, ei)));
                Walk(a[i], element, ei, p, into);
            }
        }
    }

    static bool NotNull(Type type, NullabilityInfo? info) => type.IsValueType
        ? Nullable.GetUnderlyingType(type) is null && type != typeof(JsonElement)
        : info?.ReadState == NullabilityState.NotNull;

    static string Fill(string pattern, Dictionary<string, string> route) =>
        Regex.Replace(pattern, @"\{\**(\w+)(:[^}]*)?\??\}", m => Uri.EscapeDataString(route[m.Groups[1].Value]));

    // ---------------------------------------------------------------------------------------------------------------
    // The Razor pages' forms: without the antiforgery token nothing is read

    List<(string Page, Who Caller, Bad Bad)> PageRequests(Random random, Study s)
    {
        var route = R(("survey", A), ("code", "Q-T02"), ("ranking", "priority"));
        var result = new List<(string, Who, Bad)>();
        foreach (var endpoint in _app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            if (endpoint.Metadata.GetMetadata<PageActionDescriptor>() is null) continue;
            var pattern = "/" + endpoint.RoutePattern.RawText;
            // Each page is posted to by someone allowed to see it, so that the antiforgery check is what refuses.
            var adminOnly = endpoint.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>()
                .Any(a => a.Policy == Foresight.Server.Plumbing.Policies.Admin);
            var caller = adminOnly ? Who.Admin : pattern.StartsWith("/survey/", StringComparison.Ordinal) ? Who.Expert : pattern == "/reports" ? Who.Stakeholder
                : Who.Coordinator;
            var path = Fill(pattern, route);
            for (int i = 0; i < 8; i++)
            {
                var handler = new[] { "", "?handler=add", "?handler=close&number=2", "?handler=import", "?handler=message", "?handler=hide&id="
                    + s.VisibleMessage }[random.Next(6)];
                var bad = random.Next(3) switch
                {
                    0 => new Bad("random form", Encoding.UTF8.GetBytes($"a={Uri.EscapeDataString(RandomText(random))}&deadline=x&number=-1"),
                        "application/x-www-form-urlencoded", path + handler),
                    1 => new Bad("random bytes", RandomBytes(random), "application/x-www-form-urlencoded", path + handler),
                    _ => new Bad("multipart", Multipart("file", "f.yaml", RandomBytes(random)), "multipart/form-data; boundary=fuzz", path + handler),
                };
                result.Add((pattern, caller, bad));
            }
        }
        return result;
    }

    async Task<int> SendPageAsync(Study s, Who caller, Bad bad)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, bad.Path) { Content = Content(bad) };
        using var response = await s.Callers[caller].SendAsync(request);
        return (int)response.StatusCode;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Sending and checking

    sealed class UnknownLength(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();
        protected override bool TryComputeLength(out long length) { length = 0; return false; }
    }

    static HttpContent Content(Bad bad)
    {
        HttpContent content = bad.Chunked ? new UnknownLength(bad.Body) : new ByteArrayContent(bad.Body);
        if (bad.ContentType is not null) content.Headers.TryAddWithoutValidation("Content-Type", bad.ContentType);
        return content;
    }

    async Task<Outcome> SendAsync(Study s, Example example, Bad bad)
    {
        var path = bad.Path ?? Fill(example.Pattern, example.Route);
        if (example.Kind != Kind.Json)
            path += "?file_name=" + example.Kind switch
            {
                Kind.Csv => "experts.csv", Kind.Literature => "scopus.csv", Kind.Rules => "rules.yaml", _ => "survey.yaml",
            };
        using var request = new HttpRequestMessage(new HttpMethod(example.Method), path) { Content = Content(bad) };
        foreach (var (name, value) in bad.Headers ?? []) request.Headers.TryAddWithoutValidation(name, value);
        var clock = Stopwatch.StartNew();
        using var response = await s.Callers[example.Caller].SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new Outcome(example, bad, (int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, text, clock.Elapsed);
    }

    /// <summary>What is wrong with an answer to an invalid request, or null.</summary>
    static string? Check(Outcome o)
    {
        if (o.Status >= 500) return $"server error {o.Status}: {Cut(o.Text)}";
        // How long a refusal takes is not checked here (a busy machine makes any bound wrong): the slowest are in the
        // test's output, and a cost an attacker could make the server pay belongs in a benchmark (tests/Foresight.Benchmarks).
        if (o.Status < 400) return $"accepted with {o.Status}: {Cut(o.Text)}";
        if (o.Bad.Expect is { } expect && o.Status != expect) return $"{o.Status}, expected {expect}: {Cut(o.Text)}";
        if (o.ContentType != "application/problem+json") return $"{o.Status} as {o.ContentType ?? "no content type"}, not a ProblemDetails: {Cut(o.Text)}";
        JsonNode? problem;
        try { problem = JsonNode.Parse(o.Text); }
        catch (JsonException) { return $"{o.Status} with a body that is not JSON: {Cut(o.Text)}"; }
        var detail = problem?["detail"] is JsonValue d && d.GetValueKind() == JsonValueKind.String ? d.GetValue<string>() : null;
        if (string.IsNullOrWhiteSpace(detail)) return $"{o.Status} problem without a detail: {Cut(o.Text)}";
        // The detail is for the caller: no .NET type names from inside the server.
        if (Regex.IsMatch(detail, @"\b(System|Foresight|Microsoft)\.[A-Z]\w*")) return $"{o.Status} detail names the server's types: {detail}";
        return null;
    }

    static string Cut(string s) => s.Length > 300 ? s[..300] + "..." : s;

    static string Show(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, 80)]);
        return JsonSerializer.Serialize(text) + (body.Length > 80 ? $" ({body.Length} bytes)" : "");
    }

    void Report(int seed, IEnumerable<Outcome> outcomes, IEnumerable<(string Page, Bad Bad, int Status)> pages, TimeSpan time)
    {
        var all = outcomes.ToList();
        var pageList = pages.ToList();
        output.WriteLine($"seed {seed}: {all.Count} requests to {all.Select(o => o.Example.Key).Distinct().Count()} endpoints and {pageList.Count} form " +
            $"posts to {pageList.Select(p => p.Page).Distinct().Count()} pages in {time.TotalSeconds:0.0} s");
        output.WriteLine("status: " + string.Join(", ", all.GroupBy(o => o.Status).OrderBy(g => g.Key).Select(g => $"{g.Key} x {g.Count()}"))
            + "; pages: " + string.Join(", ", pageList.GroupBy(p => p.Status).OrderBy(g => g.Key).Select(g => $"{g.Key} x {g.Count()}")));
        output.WriteLine("slowest: " + string.Join("; ", all.OrderByDescending(o => o.Time).Take(5)
            .Select(o => $"{o.Time.TotalMilliseconds:0} ms {o.Example.Key} [{o.Bad.Label}]")));
        foreach (var g in all.GroupBy(o => o.Example.Key).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"  {g.Key}: {g.Count()} " +
                $"({string.Join(", ", g.GroupBy(o => o.Status).OrderBy(x => x.Key).Select(x => $"{x.Key} x {x.Count()}"))})");
            foreach (var detail in g.Select(o => Detail(o.Text)).Where(d => d is not null).GroupBy(d => Regex.Replace(d!, @"\d+", "#"))
                .OrderByDescending(x => x.Count()).Take(4))
                output.WriteLine($"      {detail.Count()} x {Cut(detail.First()!)}");
        }
    }

    static string? Detail(string text)
    {
        try { return JsonNode.Parse(text)?["detail"]?.GetValue<string>(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { return null; }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The database before and after

    /// <summary>
    /// Waits until background jobs (report renders, invitations, analyses) are done, so that only requests change data:
    /// no job is enqueued, scheduled or processing, counted by the jobs' states (a job a worker has taken from its queue
    /// and not yet marked processing is still enqueued; a queue's length would miss it), and every closed round has its
    /// report in each language of its survey (closing a round queues them only after it has answered).
    /// </summary>
    async Task SettleAsync()
    {
        var monitor = _app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var catalog = _app.Services.GetRequiredService<Foresight.Server.Features.Surveys.SurveyCatalog>();
        string state = "";
        await Wait.UntilAsync(async () =>
        {
            var jobs = monitor.GetStatistics();
            state = $"{jobs.Enqueued} enqueued, {jobs.Scheduled} scheduled, {jobs.Processing} processing";
            if (jobs.Enqueued + jobs.Scheduled + jobs.Processing > 0) return false;
            await using var c = new SqliteConnection($"Data Source={_app.DatabasePath};Pooling=False");
            foreach (var (survey, round) in await c.QueryAsync<(long, long)>("SELECT survey_id, number FROM rounds WHERE status = 'closed'"))
            {
                var ready =
                    (await c.QueryAsync<string>(
                    "SELECT language FROM reports WHERE survey_id = @survey AND kind = 'round' AND round_number = @round AND status = 'ready'",
                    new { survey, round })).ToHashSet();
                var missing = (await catalog.DefinitionAsync(survey)).Languages.Where(l => !ready.Contains(l)).ToList();
                if (missing.Count > 0) { state = $"no report yet of survey {survey} round {round} in {string.Join(", ", missing)}"; return false; }
            }
            return true;
        }, () => $"background jobs to finish: {state}");
        await using var c = new SqliteConnection($"Data Source={_app.DatabasePath};Pooling=False");
        Assert.Equal(0, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM reports WHERE status <> 'ready'"));
    }

    /// <summary>Every row of every table, sorted, per table.</summary>
    Dictionary<string, List<string>> Snapshot()
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _app.DatabasePath, Mode = SqliteOpenMode.ReadOnly,
            Pooling = false }.ToString());
        c.Open();
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var table in c.Query<string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"))
        {
            using var command = c.CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\"";
            using var reader = command.ExecuteReader();
            var rows = new List<string>();
            while (reader.Read())
                rows.Add(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "NULL"
                    : reader.GetValue(i) is byte[] b ? Convert.ToHexString(b) : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture))));
            rows.Sort(StringComparer.Ordinal);
            result[table] = rows;
        }
        return result;
    }

    List<string> Compare(Dictionary<string, List<string>> before, Dictionary<string, List<string>> after)
    {
        var problems = new List<string>();
        foreach (var table in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
        {
            var b = before.GetValueOrDefault(table) ?? [];
            var a = after.GetValueOrDefault(table) ?? [];
            output.WriteLine($"table {table}: {b.Count} rows, {Hash(b)}{(b.SequenceEqual(a) ? "" : $" -> {a.Count} rows, {Hash(a)}")}");
            if (b.SequenceEqual(a) || MayChange.ContainsKey(table)) continue;
            var gone = b.Except(a).Take(3).Select(r => "- " + Cut(r));
            var added = a.Except(b).Take(3).Select(r => "+ " + Cut(r));
            problems.Add($"table {table} changed ({b.Count} -> {a.Count} rows):\n    " + string.Join("\n    ", gone.Concat(added)));
        }
        return problems;
    }

    static string Hash(List<string> rows) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", rows))))[..12];
}
