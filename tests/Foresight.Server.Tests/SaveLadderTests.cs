using System.Net;
using System.Net.Http.Json;
using Dapper;
using Foresight.Server.Features.Questionnaire;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Tests;

/// <summary>The benchmark's save ladder: absent unless configured, and its unstored step writes nothing.</summary>
public sealed class SaveLadderTests : IDisposable
{
    readonly List<ForesightFactory> _apps = [];
    public void Dispose() { foreach (var a in _apps) a.Dispose(); }

    ForesightFactory App(bool ladder)
    {
        var app = new ForesightFactory();
        if (ladder) app.With(SaveLadder.Setting, "true");
        _apps.Add(app);
        return app;
    }

    static async Task<long> StoredAsync(ForesightFactory app)
    {
        await using var c = new SqliteConnection($"Data Source={app.DatabasePath};Pooling=False");
        return await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM topic_answers");
    }

    [Fact]
    public async Task A_server_has_no_ladder_unless_it_is_configured()
    {
        var study = await QuickStudy.CreateAsync(App(ladder: false), experts: 1);
        var expert = study.Experts[0];
        foreach (var url in new[] { "/api/ladder/body/quick-start/Q-T01", "/api/ladder/json/quick-start/Q-T01", "/api/ladder/quick-start/auth/Q-T01",
            "/api/ladder/quick-start/unstored/Q-T01" })
            Assert.Equal(HttpStatusCode.NotFound, (await expert.PutAsJsonAsync(url, QuickStudy.Answer(4))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await expert.PutAsync("/api/ladder/response", new ByteArrayContent([1, 2, 3]))).StatusCode);
    }

    [Fact]
    public async Task The_unstored_step_answers_as_a_save_and_stores_nothing()
    {
        var app = App(ladder: true);
        var study = await QuickStudy.CreateAsync(app, experts: 1);
        var expert = study.Experts[0];

        var unstored = await Api.OkAsync(await expert.PutAsJsonAsync("/api/ladder/quick-start/unstored/Q-T01", QuickStudy.Answer(4)));
        Assert.Equal("Q-T01", unstored["code"]!.GetValue<string>());
        Assert.Equal(4, unstored["answers"]!["importance"]!["value"]!.GetValue<int>());
        Assert.True(unstored["complete"]!.GetValue<bool>());
        Assert.Equal(0, await StoredAsync(app));
        // It checks the answers as the save does, and needs the expert's token.
        await Api.ProblemAsync(await expert.PutAsJsonAsync("/api/ladder/quick-start/unstored/Q-T01", QuickStudy.Answer(9)), HttpStatusCode.BadRequest);
        await Api.ProblemAsync(await app.Anonymous().PutAsJsonAsync("/api/ladder/quick-start/unstored/Q-T01", QuickStudy.Answer(4)),
            HttpStatusCode.Unauthorized);

        // The real save beside it stores, and answers with the same response.
        var saved = await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(4));
        Assert.Equal(1, await StoredAsync(app));
        Assert.Equal(saved.ToJsonString(), unstored.ToJsonString());
    }
}
