using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Mvc.RazorPages.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Foresight.Server.Tests;

/// <summary>
/// Every endpoint of the server (API, pages and their POST handlers, hub, tools) called as every kind of caller:
/// anonymous, admin, the survey's coordinator, another survey's coordinator, the survey's expert, another survey's
/// expert, an expert whose link was revoked, the survey's stakeholder and another survey's stakeholder. Each endpoint
/// declares who may call it; the test fails on an endpoint it does not know, so a new one must be declared here.
/// Calls use ids that do not exist (round 99, member 999999, topic ZZ-NONE) and empty bodies, so an allowed call is
/// answered 400/404/409 and changes nothing, while a refused one is 401, 403 or a redirect to the sign-in page.
/// Routes about one pool expert name a real expert of survey A instead, and refuse with 404 (an expert the caller may
/// not see does not exist for them). Hub methods are called the same way (<see cref="HubMethods"/>). The policy these
/// encode is in the README ("Who may do what").
/// </summary>
public sealed class RoleMatrixTests(ITestOutputHelper output) : IAsyncLifetime
{
    [Flags]
    enum Who
    {
        Anonymous = 1, Admin = 2, CoordinatorA = 4, CoordinatorB = 8, ExpertA = 16, ExpertB = 32, RevokedA = 64, StakeholderA = 128, StakeholderB = 256,
        Everyone = 511,
        Signed = Admin | CoordinatorA | CoordinatorB | ExpertA | ExpertB | StakeholderA | StakeholderB,
        Accounts = Admin | CoordinatorA | CoordinatorB | StakeholderA | StakeholderB,
        Coordinators = Admin | CoordinatorA | CoordinatorB,
        CoordinatorsOfA = Admin | CoordinatorA,
        CoordinatorsOfAOrExpert = CoordinatorsOfA | ExpertA,
        CoordinatorsOfAOrStakeholder = CoordinatorsOfA | StakeholderA,
    }

    /// <summary>Who may call each endpoint ("METHOD /pattern"; page handlers as "POST /page?handler=Name").</summary>
    static readonly Dictionary<string, Who> Expected = new()
    {
        ["GET /"] = Who.Everyone,
        ["GET /health/live"] = Who.Everyone,
        ["GET /health/ready"] = Who.Everyone,
        ["GET /openapi/{documentName}.json"] = Who.Everyone,
        ["GET /scalar/{documentName?}"] = Who.Everyone,
        ["GET /x/{secret}"] = Who.Everyone,
        ["GET /r/{token}"] = Who.Everyone,
        ["GET /css/report.css"] = Who.Everyone,
        ["GET /hangfire/{**path}"] = Who.Admin,
        ["GET /scalar/scalar.js"] = Who.Everyone,
        ["GET /scalar/scalar.aspnetcore.js"] = Who.Everyone,
        ["GET /scalar/favicon.svg"] = Who.Everyone,
        ["GET /hubs/live/negotiate"] = Who.Signed,
        ["GET /hubs/live"] = Who.Signed,

        ["POST /api/auth/signin"] = Who.Everyone,
        ["POST /api/auth/signout"] = Who.Signed,
        ["GET /api/auth/me"] = Who.Signed,
        ["PUT /api/auth/password"] = Who.Accounts,
        ["GET /api/users"] = Who.Admin,
        ["POST /api/users"] = Who.Admin,
        ["POST /api/users/{id:long}/disable"] = Who.Admin,
        ["GET /api/audit"] = Who.Admin,

        ["GET /api/surveys"] = Who.Signed,
        ["POST /api/surveys"] = Who.Coordinators,
        ["POST /api/surveys/validate"] = Who.Coordinators,
        ["GET /api/surveys/{survey}"] = Who.CoordinatorsOfA,
        ["DELETE /api/surveys/{survey}"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/definition"] = Who.CoordinatorsOfA,
        ["PUT /api/surveys/{survey}/definition"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/rules"] = Who.CoordinatorsOfA,
        ["PUT /api/surveys/{survey}/rules"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/coordinators"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/coordinators"] = Who.Admin,
        ["DELETE /api/surveys/{survey}/coordinators/{userId:long}"] = Who.Admin,

        ["GET /api/experts"] = Who.Coordinators,
        // {id} is an expert on survey A's panel only: another survey's coordinator is answered as if it did not exist.
        ["GET /api/experts/{id:long}"] = Who.CoordinatorsOfA,
        ["POST /api/experts"] = Who.Coordinators,
        ["PUT /api/experts/{id:long}"] = Who.CoordinatorsOfA,
        ["POST /api/experts/import"] = Who.Coordinators,

        ["GET /api/surveys/{survey}/topics"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/topics"] = Who.CoordinatorsOfA,
        ["PATCH /api/surveys/{survey}/topics/{code}"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/topics/{code}/revisions"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/topics/merge"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/topics/{code}/split"] = Who.CoordinatorsOfA,
        ["DELETE /api/surveys/{survey}/topics/{code}"] = Who.CoordinatorsOfA,

        ["GET /api/surveys/{survey}/panel"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/panel"] = Who.CoordinatorsOfA,
        ["PUT /api/surveys/{survey}/panel/{member:long}/fields"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/panel/{member:long}/link"] = Who.CoordinatorsOfA,
        ["DELETE /api/surveys/{survey}/panel/{member:long}/link"] = Who.CoordinatorsOfA,

        ["GET /api/surveys/{survey}/rounds"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/rounds"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/rounds/{number:int}"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/rounds/{number:int}/close"] = Who.CoordinatorsOfA,
        ["PUT /api/surveys/{survey}/rounds/{number:int}/deadline"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/rounds/{number:int}/consensus"] = Who.CoordinatorsOfA,
        ["PUT /api/surveys/{survey}/rounds/{number:int}/topics/{code}/decision"] = Who.CoordinatorsOfA,

        ["GET /api/surveys/{survey}/questionnaire"] = Who.ExpertA,
        ["GET /api/surveys/{survey}/questionnaire/topics/{code}"] = Who.ExpertA,
        ["PUT /api/surveys/{survey}/questionnaire/topics/{code}"] = Who.ExpertA,
        ["GET /api/surveys/{survey}/questionnaire/topics/{code}/history"] = Who.ExpertA,
        ["PUT /api/surveys/{survey}/questionnaire/rankings/{ranking}"] = Who.ExpertA,
        ["PUT /api/surveys/{survey}/questionnaire/profile"] = Who.ExpertA,
        ["PUT /api/surveys/{survey}/questionnaire/language"] = Who.ExpertA,

        ["GET /api/surveys/{survey}/topics/{code}/messages"] = Who.CoordinatorsOfAOrExpert,
        ["POST /api/surveys/{survey}/topics/{code}/messages"] = Who.CoordinatorsOfAOrExpert,
        ["POST /api/surveys/{survey}/messages/{id:long}/hide"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/messages/{id:long}/unhide"] = Who.CoordinatorsOfA,

        ["GET /api/surveys/{survey}/key-technologies/ranking"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/key-technologies"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/key-technologies"] = Who.CoordinatorsOfA,

        ["GET /api/surveys/{survey}/exports/answers.csv"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/exports/consensus.csv"] = Who.CoordinatorsOfAOrStakeholder,
        ["GET /api/surveys/{survey}/exports/consensus.xlsx"] = Who.CoordinatorsOfAOrStakeholder,

        ["GET /api/surveys/{survey}/stakeholders"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/stakeholders"] = Who.CoordinatorsOfA,
        ["DELETE /api/surveys/{survey}/stakeholders/{userId:long}"] = Who.CoordinatorsOfA,

        ["GET /api/surveys/{survey}/reports"] = Who.CoordinatorsOfAOrStakeholder,
        ["POST /api/surveys/{survey}/reports"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/reports/publish"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/rounds/{number:int}/report.pdf"] = Who.CoordinatorsOfAOrStakeholder,
        ["GET /api/surveys/{survey}/rounds/{number:int}/report.html"] = Who.CoordinatorsOfAOrStakeholder,
        // The study report is not published here: its stakeholders may not read it yet (round 1's is published).
        ["GET /api/surveys/{survey}/report.pdf"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/report.html"] = Who.CoordinatorsOfA,

        ["GET /api/surveys/{survey}/outbox"] = Who.CoordinatorsOfA,

        ["POST /api/surveys/{survey}/insights/records/import"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/records/imports"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/records/imports/{id:long}"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/records"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/records/{id:long}"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/insights/analyses"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/analyses"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/analyses/{id:long}"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/proposals"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/insights/proposals/{id:long}/accept"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/insights/proposals/{id:long}/edit"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/insights/proposals/merge"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/insights/proposals/{id:long}/split"] = Who.CoordinatorsOfA,
        ["POST /api/surveys/{survey}/insights/proposals/{id:long}/reject"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/decisions"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/evaluation"] = Who.CoordinatorsOfA,
        ["GET /api/surveys/{survey}/insights/rounds/{round:int}/arguments"] = Who.CoordinatorsOfA,
        ["PUT /api/surveys/{survey}/insights/rounds/{round:int}/arguments/{topic}"] = Who.CoordinatorsOfA,

        // Pages
        ["GET /signin"] = Who.Everyone,
        ["POST /signin"] = Who.Everyone,
        ["GET /signout"] = Who.Everyone,
        ["POST /signout"] = Who.Everyone,
        ["GET /console"] = Who.Coordinators,
        ["POST /console?handler=Import"] = Who.Coordinators,
        ["GET /console/audit"] = Who.Admin,
        ["GET /reports"] = Who.Accounts,
        ["POST /reports?handler=Render"] = Who.CoordinatorsOfA,
        ["POST /reports?handler=Publish"] = Who.CoordinatorsOfA,
        ["GET /console/surveys/{survey}"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}?handler=Open"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}?handler=Close"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}?handler=Deadline"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}?handler=Grant"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}?handler=Revoke"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}?handler=Replace"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}?handler=AddCoordinator"] = Who.Admin,
        ["POST /console/surveys/{survey}?handler=RemoveCoordinator"] = Who.Admin,
        ["GET /console/surveys/{survey}/live"] = Who.CoordinatorsOfA,
        ["GET /console/surveys/{survey}/key-technologies"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/key-technologies"] = Who.CoordinatorsOfA,
        ["GET /console/surveys/{survey}/panel"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/panel?handler=Add"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/panel?handler=AddByEmail"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/panel?handler=Fields"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/panel?handler=Renew"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/panel?handler=Revoke"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/panel?handler=Expert"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/panel?handler=Import"] = Who.CoordinatorsOfA,
        ["GET /console/surveys/{survey}/messages"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/messages?handler=Hide"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/messages?handler=Show"] = Who.CoordinatorsOfA,
        ["GET /console/surveys/{survey}/topics"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/topics?handler=Decide"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/topics?handler=Change"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/topics?handler=Add"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/topics?handler=Merge"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/topics?handler=Split"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/topics?handler=Remove"] = Who.CoordinatorsOfA,
        ["GET /console/surveys/{survey}/insights"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/insights?handler=Import"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/insights?handler=Analyse"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/insights?handler=Accept"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/insights?handler=Edit"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/insights?handler=Merge"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/insights?handler=Split"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/insights?handler=Reject"] = Who.CoordinatorsOfA,
        ["POST /console/surveys/{survey}/insights?handler=Arguments"] = Who.CoordinatorsOfA,
        ["GET /survey/{survey}"] = Who.ExpertA,
        ["GET /survey/{survey}/profile"] = Who.ExpertA,
        ["POST /survey/{survey}/profile"] = Who.ExpertA,
        ["GET /survey/{survey}/topics/{code}"] = Who.ExpertA,
        ["POST /survey/{survey}/topics/{code}"] = Who.ExpertA,
        ["POST /survey/{survey}/topics/{code}?handler=Message"] = Who.ExpertA,
        ["GET /survey/{survey}/rankings/{ranking}"] = Who.ExpertA,
        ["POST /survey/{survey}/rankings/{ranking}"] = Who.ExpertA,
    };

    /// <summary>Values for route parameters: survey A, and ids that exist nowhere.</summary>
    static readonly Dictionary<string, string> RouteValues = new()
    {
        ["survey"] = "quick-start", ["number"] = "99", ["code"] = "ZZ-NONE", ["member"] = "999999", ["id"] = "999999", ["userId"] = "999999",
        ["ranking"] = "no-such", ["token"] = "not-a-token", ["secret"] = "not-a-secret", ["documentName"] = "v1", ["path"] = "",
        ["round"] = "99", ["topic"] = "ZZ-NONE",
    };

    /// <summary>Endpoints about one pool expert: the route names a real expert of survey A, and a refusal is a 404.</summary>
    static readonly HashSet<string> ExpertRoutes = ["GET /api/experts/{id:long}", "PUT /api/experts/{id:long}"];

    /// <summary>Who may call each hub method (the test fails on a method not declared here).</summary>
    static readonly Dictionary<string, Who> HubMethods = new()
    {
        // quick-start does not show the live round to stakeholders (live.stakeholders is none by default).
        ["Join"] = Who.CoordinatorsOfA | Who.ExpertA,
    };

    readonly ForesightFactory _app = new();
    readonly Dictionary<Who, string?> _tokens = new();
    long _expertOfA;

    public async Task InitializeAsync()
    {
        // Real HTTP, so that the hub can be reached over WebSockets as well.
        _app.StartKestrel();
        var admin = await _app.AdminAsync();
        var study = await QuickStudy.CreateAsync(_app, experts: 3);
        // Survey A has a closed round 1 with a published report, and round 2 open.
        foreach (var (expert, i) in study.Experts.Select((e, i) => (e, i)))
            foreach (var topic in QuickStudy.Topics) await study.AnswerAsync(i, topic, QuickStudy.Answer(5 + i, rationale: "because"));
        await study.CloseAsync(1);
        await study.OpenAsync();
        await study.Coordinator.PostOkAsync($"{QuickStudy.S}/reports/publish", new { kind = "round", round = 1, language = "en" });

        // Survey B, its coordinator and expert.
        await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email = "coordinator-b@test.local", name = "B", role = "coordinator",
            password = "coordinator-b-password" }));
        var coordinatorB = await _app.SignInAsync("coordinator-b@test.local", "coordinator-b-password");
        await Api.OkAsync(await coordinatorB.PostYamlAsync("/api/surveys", Api.Survey("quick-start.yaml").Replace("id: quick-start", "id: other-survey")));
        var expertB = await coordinatorB.PostOkAsync("/api/experts", new { name = "Expert B", email = "b@test.local", expertise = new[] { "Q" } });
        var panelB = await coordinatorB.PostOkAsync("/api/surveys/other-survey/panel",
            new { members = new[] { new { expert_id = expertB["id"]!.GetValue<long>() } } });

        // Stakeholders of A and of B.
        foreach (var (email, survey, by) in new[] { ("stakeholder-a@test.local", "quick-start", study.Coordinator),
            ("stakeholder-b@test.local", "other-survey", coordinatorB) })
        {
            await Api.OkAsync(await admin.PostAsJsonAsync("/api/users", new { email, name = email, role = "stakeholder", password = "stakeholder-password" }));
            await by.PostOkAsync($"/api/surveys/{survey}/stakeholders", new { email });
        }

        _expertOfA = (await study.Coordinator.GetOkAsync($"{QuickStudy.S}/panel"))[0]!["expert_id"]!.GetValue<long>();

        // Expert 2 of A: the link is revoked.
        await Api.OkAsync(await study.Coordinator.DeleteAsync($"{QuickStudy.S}/panel/{study.Members[2]}/link"));

        _tokens[Who.Anonymous] = null;
        _tokens[Who.Admin] = Token(admin);
        _tokens[Who.CoordinatorA] = Token(study.Coordinator);
        _tokens[Who.CoordinatorB] = Token(coordinatorB);
        _tokens[Who.ExpertA] = study.Secrets[0];
        _tokens[Who.ExpertB] = panelB[0]!["secret"]!.GetValue<string>();
        _tokens[Who.RevokedA] = study.Secrets[2];
        _tokens[Who.StakeholderA] = Token(await _app.SignInAsync("stakeholder-a@test.local", "stakeholder-password"));
        _tokens[Who.StakeholderB] = Token(await _app.SignInAsync("stakeholder-b@test.local", "stakeholder-password"));
    }

    static string Token(HttpClient c) => c.DefaultRequestHeaders.Authorization!.Parameter!;

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Every_endpoint_refuses_every_caller_it_does_not_declare_and_serves_those_it_does()
    {
        var calls = await EndpointsAsync();
        var unknown = calls.Select(c => c.Key).Where(k => !Expected.ContainsKey(k)).Distinct().ToList();
        Assert.True(unknown.Count == 0, "endpoints without a declared role (add them to Expected):\n" + string.Join("\n", unknown));
        var gone = Expected.Keys.Where(k => calls.All(c => c.Key != k)).ToList();
        Assert.True(gone.Count == 0, "declared endpoints that no longer exist:\n" + string.Join("\n", gone));

        var wrong = new List<string>();
        int requests = 0;
        // Signing out ends the caller's token: those go last.
        foreach (var call in calls.OrderBy(c => c.Key.Contains("signout")))
        {
            foreach (var who in Enum.GetValues<Who>().Where(w => _tokens.ContainsKey(w)))
            {
                var (status, location, html) = await SendAsync(call, who);
                requests++;
                // A page may answer 401 itself (the sign-in page, for a wrong password); a refusal by the server's
                // authorization is a problem document, or a redirect to the sign-in page.
                bool refused = status is HttpStatusCode.Forbidden
                    || (status is HttpStatusCode.NotFound && ExpertRoutes.Contains(call.Key))
                    || (status is HttpStatusCode.Unauthorized && !html)
                    || (status is HttpStatusCode.Redirect or HttpStatusCode.Found && location?.Contains("/signin", StringComparison.Ordinal) == true
                    && !call.Key.Contains("signout"));
                bool allowed = Expected[call.Key].HasFlag(who);
                if ((int)status >= 500) wrong.Add($"{call.Key} as {who}: {(int)status}");
                else if (allowed == refused)
                    wrong.Add($"{call.Key} as {who}: {(int)status}{(location is null ? "" : " -> " + location)}, expected {(allowed ? "served" : "refused")}");
            }
        }
        output.WriteLine($"{calls.Count} endpoints x {_tokens.Count} callers = {requests} requests");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public async Task Every_hub_method_lets_only_the_callers_it_declares()
    {
        var methods = typeof(Foresight.Server.Features.Live.LiveHub).GetMethods(
            System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly)
            .Where(m => m.GetBaseDefinition().DeclaringType == m.DeclaringType && !m.IsSpecialName).Select(m => m.Name).ToList();
        Assert.True(methods.All(HubMethods.ContainsKey), "hub methods without declared callers (add them to HubMethods): "
            + string.Join(", ", methods.Where(m => !HubMethods.ContainsKey(m))));
        Assert.True(HubMethods.Keys.All(methods.Contains), "declared hub methods that no longer exist: "
            + string.Join(", ", HubMethods.Keys.Where(k => !methods.Contains(k))));
        var kestrel = _app.KestrelAddress!;
        var wrong = new List<string>();
        foreach (var (method, allowed) in HubMethods)
            foreach (var who in _tokens.Keys)
            {
                string outcome;
                try
                {
                    var connection = new HubConnectionBuilder().WithUrl(new Uri(kestrel, "/hubs/live"), o =>
                    {
                        o.Transports = HttpTransportType.WebSockets;
                        if (_tokens[who] is { } t) o.AccessTokenProvider = () => Task.FromResult<string?>(t);
                    }).Build();
                    await using (connection)
                    {
                        await connection.StartAsync();
                        try
                        {
                            await connection.InvokeAsync<System.Text.Json.JsonElement>(method, "quick-start");
                            outcome = "served";
                        }
                        catch (HubException) { outcome = "refused"; }
                    }
                }
                catch (HttpRequestException e) when (e.StatusCode == HttpStatusCode.Unauthorized) { outcome = "unauthorized"; }
                output.WriteLine($"{method} as {who}: {outcome}");
                var expected = allowed.HasFlag(who) ? "served" : who is Who.Anonymous or Who.RevokedA ? "unauthorized" : "refused";
                if (expected != outcome) wrong.Add($"{method} as {who}: {outcome}, expected {expected}");
            }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    sealed record Call(string Key, string Method, string Path, string? Handler, string ContentType = "application/json");

    /// <summary>Every route and method of the app, and every POST handler of every page.</summary>
    async Task<List<Call>> EndpointsAsync()
    {
        var source = _app.Services.GetRequiredService<EndpointDataSource>();
        var loader = _app.Services.GetRequiredService<PageLoader>();
        var calls = new List<Call>();
        foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
        {
            var pattern = "/" + endpoint.RoutePattern.RawText!.Trim('/');
            var path = Regex.Replace(pattern, @"\{\**(\w+)[^}]*\}", m => RouteValues.TryGetValue(m.Groups[1].Value, out var v) ? v
                : throw new InvalidOperationException($"no value for {m.Value} in {pattern}"));
            path = path.Replace("//", "/");
            if (path.Length > 1) path = path.TrimEnd('/');
            var page = endpoint.Metadata.GetMetadata<PageActionDescriptor>();
            if (page is not null)
            {
                var compiled = await loader.LoadAsync(page, endpoint.Metadata);
                foreach (var h in compiled.HandlerMethods.Where(h => h.HttpMethod is "Get" or "Post"))
                {
                    var method = h.HttpMethod.ToUpperInvariant();
                    var key = $"{method} {pattern}{(h.Name is null ? "" : "?handler=" + h.Name)}";
                    if (calls.All(c => c.Key != key)) calls.Add(new Call(key, method, path, h.Name));
                }
                continue;
            }
            var methods = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            foreach (var method in methods.Where(m => m != "OPTIONS" && m != "HEAD"))
            {
                var key = $"{method} {pattern}";
                // A body of the type the endpoint takes: routing answers 415 to another type before authorization runs.
                var type = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.ContentTypes.FirstOrDefault()
                    ?? "application/json";
                if (calls.All(c => c.Key != key)) calls.Add(new Call(key, method, path, null, type));
            }
        }
        return calls;
    }

    readonly Dictionary<Who, (string Cookie, string Form)?> _antiforgery = new();

    readonly Dictionary<Who, HttpClient> _clients = new();

    HttpClient Client(Who who)
    {
        if (!_clients.TryGetValue(who, out var client))
            _clients[who] = client = _tokens[who] is { } token ? _app.WithToken(token) : _app.Anonymous();
        return client;
    }

    async Task<(HttpStatusCode, string?, bool Html)> SendAsync(Call call, Who who)
    {
        var client = Client(who);
        var path = ExpertRoutes.Contains(call.Key) ? call.Path.Replace("999999", _expertOfA.ToString()) : call.Path;
        var url = call.Handler is null ? path : $"{path}?handler={call.Handler}";
        var request = new HttpRequestMessage(new HttpMethod(call.Method), url);
        if (call.Method != "GET" && call.Method != "DELETE")
        {
            bool isPage = !call.Path.StartsWith("/api", StringComparison.Ordinal) && !call.Path.StartsWith("/hubs", StringComparison.Ordinal)
                && !call.Path.StartsWith("/hangfire", StringComparison.Ordinal);
            if (isPage && await AntiforgeryAsync(who) is { } af)
            {
                request.Headers.Add("Cookie", af.Cookie);
                // Forms that name their survey (the reports page) name survey A.
                request.Content = new FormUrlEncodedContent([new("__RequestVerificationToken", af.Form), new("Survey", "quick-start")]);
            }
            else request.Content = new StringContent(call.ContentType.Contains("json") ? "{}" : "", Encoding.UTF8, call.ContentType);
        }
        var response = await client.SendAsync(request);
        return (response.StatusCode, response.Headers.Location?.ToString(), response.Content.Headers.ContentType?.MediaType == "text/html");
    }

    /// <summary>An antiforgery cookie and form token issued to this caller, from a page the caller may open.</summary>
    async Task<(string Cookie, string Form)?> AntiforgeryAsync(Who who)
    {
        if (_antiforgery.TryGetValue(who, out var known)) return known;
        var client = Client(who);
        var page = who switch
        {
            Who.Admin or Who.CoordinatorA or Who.CoordinatorB => "/console",
            Who.StakeholderA or Who.StakeholderB => "/reports",
            Who.ExpertA => "/survey/quick-start/profile",
            Who.ExpertB => "/survey/other-survey/profile",
            _ => "/signin",
        };
        var response = await client.GetAsync(page);
        var html = await response.Content.ReadAsStringAsync();
        var form = Regex.Match(html, "name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"");
        var cookie = response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies.FirstOrDefault(c => c.StartsWith("foresight-af=")) : null;
        (string, string)? result = form.Success && cookie is not null ? (cookie.Split(';')[0], form.Groups[1].Value) : null;
        Assert.True(result is not null, $"no antiforgery token for {who} from {page} ({(int)response.StatusCode})");
        _antiforgery[who] = result;
        return result;
    }
}
