using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Foresight.Server.Tests;

/// <summary>
/// Per-survey authority (issue 22): several agencies' coordinators share the server and its expert pool, and none can
/// reach another survey's experts, redirect its invitations, or keep access (or a live view) that was taken away.
/// </summary>
public sealed class AuthorityTests : IAsyncLifetime
{
    readonly ForesightFactory _app = new();
    QuickStudy _a = null!;
    HttpClient _admin = null!;
    HttpClient _coordinatorB = null!;
    long _expertA;

    public async Task InitializeAsync()
    {
        _app.StartKestrel();
        _admin = await _app.AdminAsync();
        // Survey A (quick-start) with 3 experts and round 1 open; its expert 0 sits only on survey A.
        _a = await QuickStudy.CreateAsync(_app, experts: 3);
        _expertA = (await _a.Coordinator.GetOkAsync($"{QuickStudy.S}/panel"))[0]!["expert_id"]!.GetValue<long>();
        await Api.OkAsync(await _admin.PostAsJsonAsync("/api/users", new { email = "coordinator-b@test.local", name = "B", role = "coordinator",
            password = "coordinator-b-password" }));
        _coordinatorB = await _app.SignInAsync("coordinator-b@test.local", "coordinator-b-password");
        await Api.OkAsync(await _coordinatorB.PostYamlAsync("/api/surveys", Api.Survey("quick-start.yaml").Replace("id: quick-start", "id: other-survey")));
    }

    public Task DisposeAsync()
    {
        _app.Dispose();
        return Task.CompletedTask;
    }

    async Task<string> EmailOfAsync(long expert)
    {
        await using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_app.DatabasePath}");
        return await c.QuerySingleAsync<string>("SELECT email FROM experts WHERE id = @expert", new { expert });
    }

    [Fact]
    public async Task A_coordinator_of_another_survey_cannot_read_change_or_redirect_an_expert_of_survey_A()
    {
        var original = await EmailOfAsync(_expertA);

        // By id: read and change are answered as if the expert did not exist.
        var read = await Api.ProblemAsync(await _coordinatorB.GetAsync($"/api/experts/{_expertA}"), HttpStatusCode.NotFound);
        Assert.DoesNotContain(original, read.ToJsonString());
        await Api.ProblemAsync(await _coordinatorB.PutAsJsonAsync($"/api/experts/{_expertA}", new { name = "Taken", email = "attacker@evil.test" }),
            HttpStatusCode.NotFound);

        // By search: the pool B sees holds none of A's experts, whatever the query.
        foreach (var q in new[] { "", "Quick", original, "Institute" })
            Assert.Empty((await _coordinatorB.GetOkAsync($"/api/experts?q={Uri.EscapeDataString(q)}")).AsArray());
        Assert.Empty((await _coordinatorB.GetOkAsync("/api/experts?expertise=Q")).AsArray());

        // By CSV import: the row with A's expert's address changes nothing and shows nothing of theirs.
        var csv = $"name,email,organisation\nTaken Over,{original},Evil Corp\nNew Person,new-b@test.local,B Org\n";
        var imported = await Api.OkAsync(await _coordinatorB.PostAsync("/api/experts/import", new StringContent(csv, Encoding.UTF8, "text/csv")));
        Assert.Equal(1, imported["added"]!.GetValue<int>());
        Assert.Equal(0, imported["updated"]!.GetValue<int>());
        Assert.Equal(1, imported["kept"]!.GetValue<int>());
        Assert.Equal(2, imported["kept_rows"]![0]!["line"]!.GetValue<int>());
        Assert.DoesNotContain("Quick Expert 0", imported.ToJsonString());
        Assert.Single(imported["experts"]!.AsArray());

        // Adding A's expert to B's panel by id is refused like an unknown expert; a new expert with A's address is a conflict
        // that does not say which expert has it.
        await Api.ProblemAsync(await _coordinatorB.PostAsJsonAsync("/api/surveys/other-survey/panel", new { members = new[] { new { expert_id = _expertA } } }),
            HttpStatusCode.BadRequest);
        var conflict = await Api.ProblemAsync(await _coordinatorB.PostAsJsonAsync("/api/experts", new { name = "X", email = original }),
            HttpStatusCode.Conflict);
        Assert.DoesNotContain(_expertA.ToString(), conflict["detail"]!.GetValue<string>());

        // By e-mail, B may put the shared expert on B's own panel; B then sees them, but still cannot change their address,
        // since it decides where survey A's invitations go.
        await Api.OkAsync(await _coordinatorB.PostAsJsonAsync("/api/surveys/other-survey/panel", new { members = new[] { new { email = original } } }));
        Assert.Equal(original, (await _coordinatorB.GetOkAsync($"/api/experts/{_expertA}"))["email"]!.GetValue<string>());
        await Api.ProblemAsync(await _coordinatorB.PutAsJsonAsync($"/api/experts/{_expertA}", new { name = "Taken", email = "attacker@evil.test" }),
            HttpStatusCode.Forbidden);
        var again = await Api.OkAsync(await _coordinatorB.PostAsync("/api/experts/import", new StringContent(csv, Encoding.UTF8, "text/csv")));
        Assert.Equal(1, again["kept"]!.GetValue<int>());
        Assert.Equal(original, await EmailOfAsync(_expertA));

        // Neither can A's coordinator now change the expert alone; an admin can, and both surveys' audit logs say so.
        await Api.ProblemAsync(await _a.Coordinator.PutAsJsonAsync($"/api/experts/{_expertA}", new { name = "Quick Expert 0", email = "moved@test.local" }),
            HttpStatusCode.Forbidden);
        await Api.OkAsync(await _admin.PutAsJsonAsync($"/api/experts/{_expertA}", new { name = "Quick Expert 0", email = "moved@test.local" }));
        foreach (var survey in new[] { "quick-start", "other-survey" })
            Assert.Contains((await _admin.GetOkAsync($"/api/audit?survey={survey}&action=panel.expert_updated")).AsArray(),
                e => e!["detail"]!.GetValue<string>().Contains($"\"expert\":{_expertA}"));

        // Survey A's next invitations go to the address the admin set, never to one B chose.
        await _a.CloseAsync(1);
        await _a.OpenAsync();
        var outbox = await _a.Coordinator.GetOkAsync($"{QuickStudy.S}/outbox");
        Assert.DoesNotContain(outbox.AsArray(), m => m!["to_address"]!.GetValue<string>().Contains("evil"));
    }

    [Fact]
    public async Task A_coordinator_changes_an_expert_who_sits_only_on_their_own_surveys_and_sees_only_their_pool()
    {
        await Api.OkAsync(await _a.Coordinator.PutAsJsonAsync($"/api/experts/{_expertA}", new { name = "Quick Expert 0", email = "renamed@test.local" }));
        Assert.Equal("renamed@test.local", await EmailOfAsync(_expertA));
        var b = await Api.OkAsync(await _coordinatorB.PostAsJsonAsync("/api/experts", new { name = "Only B", email = "only-b@test.local" }));
        // An expert B added is B's until they join a survey of someone else's: A does not see them.
        Assert.Equal(new[] { "only-b@test.local" }, (await _coordinatorB.GetOkAsync("/api/experts")).AsArray().Select(e => e!["email"]!.GetValue<string>()));
        await Api.ProblemAsync(await _a.Coordinator.GetAsync($"/api/experts/{b["id"]}"), HttpStatusCode.NotFound);
        Assert.Equal(3, (await _a.Coordinator.GetOkAsync("/api/experts")).AsArray().Count);
        Assert.Equal(4, (await _admin.GetOkAsync("/api/experts")).AsArray().Count);
    }

    [Fact]
    public async Task Only_an_admin_grants_and_removes_a_surveys_coordinators_and_removal_takes_effect_at_once()
    {
        await Api.ProblemAsync(await _a.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/coordinators", new { email = "coordinator-b@test.local" }),
            HttpStatusCode.Forbidden);
        await Api.ProblemAsync(await _coordinatorB.GetAsync($"{QuickStudy.S}/panel"), HttpStatusCode.Forbidden);
        await Api.OkAsync(await _admin.PostAsJsonAsync($"{QuickStudy.S}/coordinators", new { email = "coordinator-b@test.local" }));
        var coordinators = await _a.Coordinator.GetOkAsync($"{QuickStudy.S}/coordinators");
        Assert.Equal(new[] { "coordinator-b@test.local", "coordinator@test.local" }, coordinators.AsArray().Select(c => c!["email"]!.GetValue<string>()));
        await Api.OkAsync(await _coordinatorB.GetAsync($"{QuickStudy.S}/panel"));

        // B watches survey A live; when the admin removes B, the connection ends and B cannot join again.
        await using var live = await LiveClient.ConnectAsync(_app, Token(_coordinatorB));
        await live.JoinAsync("quick-start");
        var userB = coordinators[0]!["user_id"]!.GetValue<long>();
        await Api.ProblemAsync(await _a.Coordinator.DeleteAsync($"{QuickStudy.S}/coordinators/{userB}"), HttpStatusCode.Forbidden);
        await Api.OkAsync(await _admin.DeleteAsync($"{QuickStudy.S}/coordinators/{userB}"));
        await WaitClosedAsync(live.Connection);
        await Api.ProblemAsync(await _coordinatorB.GetAsync($"{QuickStudy.S}/panel"), HttpStatusCode.Forbidden);
        await using var again = await LiveClient.ConnectAsync(_app, Token(_coordinatorB));
        await Assert.ThrowsAsync<HubException>(() => again.JoinAsync("quick-start"));
    }

    static string Token(HttpClient c) => c.DefaultRequestHeaders.Authorization!.Parameter!;

    /// <summary>Waits until the server has closed the connection (the client does not reconnect by itself).</summary>
    static async Task WaitClosedAsync(HubConnection connection)
    {
        await Wait.UntilAsync(() => connection.State == HubConnectionState.Disconnected, () => $"the server to close the connection (it is {connection.State})",
            pollMs: 20);
    }

    [Fact]
    public async Task A_revoked_expert_loses_an_open_live_connection_and_cannot_join_on_it_again()
    {
        await using var live = await LiveClient.ConnectAsync(_app, _a.Secrets[1]);
        await live.JoinAsync("quick-start");
        await Api.OkAsync(await _a.Coordinator.DeleteAsync($"{QuickStudy.S}/panel/{_a.Members[1]}/link"));
        await WaitClosedAsync(live.Connection);
        await Assert.ThrowsAnyAsync<Exception>(() => live.JoinAsync("quick-start"));
        // A new connection with the revoked key is refused outright, as the REST API refuses it.
        await Assert.ThrowsAnyAsync<Exception>(async () => { await using var again = await LiveClient.ConnectAsync(_app, _a.Secrets[1]); });
        await Api.ProblemAsync(await _a.Experts[1].GetAsync($"{QuickStudy.S}/questionnaire"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_renewed_link_ends_live_connections_made_with_the_old_one()
    {
        await using var live = await LiveClient.ConnectAsync(_app, _a.Secrets[2]);
        await live.JoinAsync("quick-start");
        var renewed = await Api.OkAsync(await _a.Coordinator.PostAsync($"{QuickStudy.S}/panel/{_a.Members[2]}/link", null));
        await WaitClosedAsync(live.Connection);
        await using var fresh = await LiveClient.ConnectAsync(_app, renewed["secret"]!.GetValue<string>());
        await fresh.JoinAsync("quick-start");
    }

    [Fact]
    public async Task Signing_out_ends_a_token_at_once_and_an_invitation_key_cannot_be_signed_out()
    {
        var token = await Api.OkAsync(await _app.Anonymous().PostAsJsonAsync("/api/auth/signin",
            new { email = "coordinator-b@test.local", password = "coordinator-b-password" }));
        var client = _app.WithToken(token["token"]!.GetValue<string>());
        await using var live = await LiveClient.ConnectAsync(_app, token["token"]!.GetValue<string>());
        await live.JoinAsync("other-survey");
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/api/auth/signout", null)).StatusCode);
        await Api.ProblemAsync(await client.GetAsync("/api/auth/me"), HttpStatusCode.Unauthorized);
        await WaitClosedAsync(live.Connection);

        // The expert's key is their link: a sign-out with it is refused, not answered as if it had worked.
        var refused = await Api.ProblemAsync(await _a.Experts[0].PostAsync("/api/auth/signout", null), HttpStatusCode.BadRequest);
        Assert.Contains("coordinator", refused["detail"]!.GetValue<string>());
        await Api.OkAsync(await _a.Experts[0].GetAsync($"{QuickStudy.S}/questionnaire"));
    }

    [Fact]
    public async Task A_stakeholder_removed_from_a_survey_loses_the_live_view_at_once()
    {
        await Api.OkAsync(await _admin.PostAsJsonAsync("/api/users", new { email = "st@test.local", name = "St", role = "stakeholder",
            password = "stakeholder-password" }));
        // The survey must show its live round to stakeholders for them to join at all.
        var yaml = Api.Survey("quick-start.yaml").Replace("id: quick-start", "id: live-survey") + "\nlive:\n  stakeholders: progress\n";
        await Api.OkAsync(await _coordinatorB.PostYamlAsync("/api/surveys", yaml));
        var granted = await Api.OkAsync(await _coordinatorB.PostAsJsonAsync("/api/surveys/live-survey/stakeholders", new { email = "st@test.local" }));
        var stakeholder = await _app.SignInAsync("st@test.local", "stakeholder-password");
        await using var live = await LiveClient.ConnectAsync(_app, Token(stakeholder));
        await live.JoinAsync("live-survey");
        await Api.OkAsync(await _coordinatorB.DeleteAsync($"/api/surveys/live-survey/stakeholders/{granted["user_id"]}"));
        await WaitClosedAsync(live.Connection);
        await using var again = await LiveClient.ConnectAsync(_app, Token(stakeholder));
        await Assert.ThrowsAsync<HubException>(() => again.JoinAsync("live-survey"));
    }
}
