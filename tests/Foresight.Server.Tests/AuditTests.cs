using System.Net;
using System.Net.Http.Json;

namespace Foresight.Server.Tests;

/// <summary>The audit log: coordinator actions with who, when and what, for admins (API and page).</summary>
public sealed class AuditTests : IDisposable
{
    readonly ForesightFactory _app = new();

    public void Dispose() => _app.Dispose();

    [Fact]
    public async Task Rounds_topics_and_exports_are_logged_with_who_and_admins_can_read_and_filter_the_log()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 2);
        await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(5));
        await study.CloseAsync(1);
        await Api.OkAsync(await study.Coordinator.PatchAsJsonAsync($"{QuickStudy.S}/topics/Q-T02",
            new { title = new { zh = "更清楚的表述", en = "A clearer wording" }, reason = "ambiguous" }));
        await study.OpenAsync();
        Assert.Equal(HttpStatusCode.OK, (await study.Coordinator.GetAsync($"{QuickStudy.S}/exports/answers.csv")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await study.Coordinator.GetAsync($"{QuickStudy.S}/exports/consensus.csv")).StatusCode);

        var admin = await _app.AdminAsync();
        var log = (await admin.GetOkAsync("/api/audit?survey=quick-start")).AsArray();
        string[] expected = ["survey.imported", "panel.added", "round.opened", "round.closed", "topic.changed", "round.opened", "data.exported",
            "data.exported"];
        Assert.Equal(expected, log.Select(e => e!["action"]!.GetValue<string>()).Reverse().Where(expected.Contains));
        Assert.All(log.Where(e => e!["action"]!.GetValue<string>() != "round.closed" || e["user"] is not null),
            e => Assert.Equal("coordinator@test.local", e!["user"]!.GetValue<string>()));
        Assert.Contains("answers.csv", log.First(e => e!["action"]!.GetValue<string>() == "data.exported"
            && e["detail"]!.GetValue<string>().Contains("answers"))!["detail"]!.GetValue<string>());
        Assert.Contains("ambiguous", log.Single(e => e!["action"]!.GetValue<string>() == "topic.changed")!["detail"]!.GetValue<string>());

        // Filters: an action prefix, and the acting user.
        var rounds = (await admin.GetOkAsync("/api/audit?action=round")).AsArray().Select(e => e!["action"]!.GetValue<string>()).ToList();
        Assert.Equal(["round.opened", "round.closed", "round.opened"], rounds.AsEnumerable().Reverse());
        Assert.Empty((await admin.GetOkAsync("/api/audit?user=nobody@test.local")).AsArray());

        // The page shows the same entries to an admin; a coordinator is refused.
        var page = await (await admin.GetAsync("/console/audit?action=topic&lang=en")).Content.ReadAsStringAsync();
        Assert.Contains("data-action=\"topic.changed\"", page);
        Assert.DoesNotContain("data-action=\"round.opened\"", page);
        Assert.Equal(HttpStatusCode.Forbidden, (await study.Coordinator.GetAsync("/console/audit")).StatusCode);
    }
}
