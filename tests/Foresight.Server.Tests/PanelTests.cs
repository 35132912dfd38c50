using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Foresight.Server.Tests;

public sealed class PanelTests : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task A_csv_with_bad_rows_reports_each_line_and_stores_nothing()
    {
        var coordinator = await _app.NewCoordinatorAsync();
        const string csv = """
            name,email,org_type,expertise,language
            Li Wei,li.wei@example.org,UNI,Q;A,zh-CN
            ,no-name@example.org,UNI,Q,en
            Zhang San,not-an-email,INST,A,en
            "Smith, Anna",anna@example.org,ENT,Q,fr
            Li Wei again,li.wei@example.org,UNI,Q,zh-CN
            """;
        var problem = await Api.ProblemAsync(await coordinator.PostAsync("/api/experts/import", new StringContent(csv, Encoding.UTF8, "text/csv")),
            HttpStatusCode.BadRequest);
        var lines = problem["errors"]!.AsArray().Select(e => (e!["line"]!.GetValue<int>(), e["message"]!.GetValue<string>())).ToList();
        Assert.Contains(lines, l => l.Item1 == 3 && l.Item2.Contains("name is required"));
        Assert.Contains(lines, l => l.Item1 == 4 && l.Item2.Contains("'not-an-email' is not an e-mail address"));
        Assert.Contains(lines, l => l.Item1 == 5 && l.Item2.Contains("language must be zh-CN or en"));
        Assert.Contains(lines, l => l.Item1 == 6 && l.Item2.Contains("also on line 2"));
        Assert.Empty((await coordinator.GetOkAsync("/api/experts")).AsArray());

        var header = await Api.ProblemAsync(await coordinator.PostAsync("/api/experts/import",
            new StringContent("nom,email\nA,a@b.org\n", Encoding.UTF8, "text/csv")), HttpStatusCode.BadRequest);
        Assert.Contains("unknown column 'nom'", header["detail"]!.GetValue<string>());

        var good = csv.Split('\n').Take(2).Append("\"Smith, Anna\",anna@example.org,ENT,Q,en");
        var imported = await Api.OkAsync(await coordinator.PostAsync("/api/experts/import",
            new StringContent(string.Join('\n', good), Encoding.UTF8, "text/csv")));
        Assert.Equal(2, imported["added"]!.GetValue<int>());
        var pool = (await coordinator.GetOkAsync("/api/experts?q=Smith")).AsArray();
        Assert.Equal("Smith, Anna", pool.Single()!["name"]!.GetValue<string>());
        Assert.Equal(["Q"], pool.Single()!["expertise"]!.AsArray().Select(x => x!.GetValue<string>()));

        var reimport = await Api.OkAsync(await coordinator.PostAsync("/api/experts/import",
            new StringContent(string.Join('\n', good), Encoding.UTF8, "text/csv")));
        Assert.Equal(0, reimport["added"]!.GetValue<int>());
        Assert.Equal(2, reimport["updated"]!.GetValue<int>());
    }

    [Fact]
    public async Task Panel_members_answer_their_own_fields_and_links_can_be_renewed_and_revoked()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 2, open: true);
        var q = await study.Experts[0].GetOkAsync($"{QuickStudy.S}/questionnaire");
        Assert.Equal(6, q["progress"]!["topics"]!.GetValue<int>());

        // Only field A for expert 1.
        await study.Coordinator.PutOkAsync($"{QuickStudy.S}/panel/{study.Members[1]}/fields", new { fields = new[] { "A" } });
        var onlyA = await study.Experts[1].GetOkAsync($"{QuickStudy.S}/questionnaire");
        Assert.Equal(3, onlyA["progress"]!["topics"]!.GetValue<int>());
        await Api.ProblemAsync(await study.Experts[1].GetAsync($"{QuickStudy.S}/questionnaire/topics/Q-T01"), HttpStatusCode.NotFound);
        await Api.ProblemAsync(await study.Experts[1].PutAsJsonAsync($"{QuickStudy.S}/questionnaire/topics/Q-T01", QuickStudy.Answer(5)),
            HttpStatusCode.NotFound);
        await Api.ProblemAsync(await study.Coordinator.PutAsJsonAsync($"{QuickStudy.S}/panel/{study.Members[1]}/fields", new { fields = new[] { "Z" } }),
            HttpStatusCode.BadRequest);

        // A renewed link replaces the old one.
        var renewed = await study.Coordinator.PostOkAsync($"{QuickStudy.S}/panel/{study.Members[0]}/link");
        await Api.ProblemAsync(await study.Experts[0].GetAsync($"{QuickStudy.S}/questionnaire"), HttpStatusCode.Unauthorized);
        var fresh = _app.WithToken(renewed["secret"]!.GetValue<string>());
        await fresh.GetOkAsync($"{QuickStudy.S}/questionnaire");
        Assert.Equal(study.Pseudonyms[0], renewed["pseudonym"]!.GetValue<string>());

        // A revoked link stops working at once.
        Assert.Equal(HttpStatusCode.NoContent, (await study.Coordinator.DeleteAsync($"{QuickStudy.S}/panel/{study.Members[0]}/link")).StatusCode);
        await Api.ProblemAsync(await fresh.GetAsync($"{QuickStudy.S}/questionnaire"), HttpStatusCode.Unauthorized);
        var panel = (await study.Coordinator.GetOkAsync($"{QuickStudy.S}/panel")).AsArray();
        Assert.True(panel[0]!["revoked"]!.GetValue<bool>());

        // The link in the browser signs the expert in with a cookie.
        var browser = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false,
            BaseAddress = new Uri("https://localhost") }); // the session cookie is Secure
        var visit = await browser.GetAsync($"/x/{study.Secrets[1]}");
        Assert.Equal(HttpStatusCode.Redirect, visit.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(visit.Headers.Location!)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _app.Anonymous().GetAsync($"/x/{study.Secrets[0]}")).StatusCode);
    }

    [Fact]
    public async Task Adding_experts_checks_every_member_first()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1, open: false);
        var pool = await Api.OkAsync(await study.Coordinator.PostAsJsonAsync("/api/experts", new { name = "No Fields", email = "nofields@test.local" }));
        var problem = await Api.ProblemAsync(await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/panel", new
        {
            members = new object[] { new { expert_id = pool["id"]!.GetValue<long>() }, new { email = "nobody@test.local", fields = new[] { "Q" } },
                new { email = "quick0@test.local" } },
        }), HttpStatusCode.BadRequest);
        var errors = problem["errors"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.Contains(errors, e => e.Contains("say which fields No Fields answers"));
        Assert.Contains(errors, e => e.Contains("no expert with e-mail nobody@test.local"));
        Assert.Contains(errors, e => e.Contains("is on the panel already"));
        Assert.Single((await study.Coordinator.GetOkAsync($"{QuickStudy.S}/panel")).AsArray());

        // Joining while a round is open: invited to that round.
        await study.OpenAsync();
        await Api.OkAsync(await study.Coordinator.PostAsJsonAsync($"{QuickStudy.S}/panel",
            new { members = new[] { new { expert_id = pool["id"]!.GetValue<long>(), fields = new[] { "Q" } } } }));
        var round = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1");
        Assert.Equal(2, round["participation"]!["invited"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_expert_of_another_survey_sees_nothing_of_this_one()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 1);
        await Api.OkAsync(await study.Coordinator.PostYamlAsync("/api/surveys", Api.Survey("national-tf-2045.yaml")));
        var outsider = await Api.OkAsync(await study.Coordinator.PostAsJsonAsync("/api/experts",
            new { name = "Outsider", email = "outsider@test.local", expertise = new[] { "F1" } }));
        var invitation = (await Api.OkAsync(await study.Coordinator.PostAsJsonAsync("/api/surveys/national-tf-2045/panel",
            new { members = new[] { new { expert_id = outsider["id"]!.GetValue<long>() } } }))).AsArray().Single()!;
        var other = _app.WithToken(invitation["secret"]!.GetValue<string>());
        await Api.ProblemAsync(await other.GetAsync($"{QuickStudy.S}/questionnaire"), HttpStatusCode.Forbidden);
        await Api.ProblemAsync(await other.GetAsync($"{QuickStudy.S}/topics/Q-T01/messages"), HttpStatusCode.Forbidden);
        await Api.ProblemAsync(await other.GetAsync($"{QuickStudy.S}/rounds/1/consensus"), HttpStatusCode.Forbidden);
        await Api.ProblemAsync(await study.Experts[0].GetAsync($"{QuickStudy.S}/rounds/1/consensus"), HttpStatusCode.Forbidden);
        await Api.ProblemAsync(await study.Experts[0].GetAsync("/api/experts"), HttpStatusCode.Forbidden);
        var mine = (await other.GetOkAsync("/api/surveys")).AsArray();
        Assert.Equal("national-tf-2045", mine.Single()!["slug"]!.GetValue<string>());
    }
}
