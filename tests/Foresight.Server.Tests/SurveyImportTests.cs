using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Tests;

public sealed class SurveyImportTests : IDisposable
{
    readonly ForesightFactory _app = new();
    public void Dispose() => _app.Dispose();

    async Task<long> CountAsync(string table)
    {
        await using var c = new SqliteConnection($"Data Source={_app.DatabasePath}");
        return await c.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table}");
    }

    [Fact]
    public async Task A_bad_file_is_rejected_with_file_line_column_and_nothing_is_stored()
    {
        var coordinator = await _app.NewCoordinatorAsync();
        var yaml = Api.Survey("quick-start.yaml").Replace("    agree: [6, 7]", "    agree: [6, 8]").Replace("kind: multi_choice", "kind: multiple");
        var problem = await Api.ProblemAsync(await coordinator.PostYamlAsync("/api/surveys", yaml, "mine.yaml"), HttpStatusCode.BadRequest);
        var errors = problem["errors"]!.AsArray();
        Assert.Equal(2, errors.Count);
        var agree = errors.Single(e => e!["message"]!.GetValue<string>().Contains("'8'"))!;
        Assert.Equal("mine.yaml", agree["file"]!.GetValue<string>());
        Assert.Equal(49, agree["line"]!.GetValue<int>());
        Assert.Equal(12, agree["column"]!.GetValue<int>());
        Assert.Contains("is not a point of its 1-7 scale", agree["message"]!.GetValue<string>());
        Assert.Contains("mine.yaml:", problem["detail"]!.GetValue<string>());
        Assert.Contains("Nothing was stored", problem["detail"]!.GetValue<string>());

        Assert.Empty((await coordinator.GetOkAsync("/api/surveys")).AsArray());
        foreach (var table in new[] { "surveys", "fields", "topics", "consensus_rules" })
            Assert.Equal(0, await CountAsync(table));
    }

    [Fact]
    public async Task A_file_can_be_uploaded_as_a_form_and_checked_without_storing()
    {
        var coordinator = await _app.NewCoordinatorAsync();
        var check = await Api.OkAsync(await coordinator.PostYamlAsync("/api/surveys/validate", Api.Survey("national-tf-2045.yaml")));
        Assert.Equal(33, check["topics"]!.GetValue<int>());
        Assert.Equal(0, await CountAsync("surveys"));

        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(Api.Survey("quick-start.yaml")));
        file.Headers.ContentType = new MediaTypeHeaderValue("application/yaml");
        form.Add(file, "file", "quick-start.yaml");
        var created = await coordinator.PostAsync("/api/surveys", form);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await Api.OkAsync(created);
        Assert.Equal("quick-start.yaml", body["file_name"]!.GetValue<string>());
        Assert.Equal(6, body["fields"]!.AsArray().Sum(f => f!["topics"]!.AsArray().Count));
        Assert.Equal("量子科技", body["fields"]![0]!["name"]!["zh"]!.GetValue<string>());

        var again = await Api.ProblemAsync(await coordinator.PostYamlAsync("/api/surveys", Api.Survey("quick-start.yaml")), HttpStatusCode.Conflict);
        Assert.Contains("exists already", again["detail"]!.GetValue<string>());

        var yaml = await coordinator.GetStringAsync("/api/surveys/quick-start/definition");
        Assert.Equal(Api.Survey("quick-start.yaml"), yaml);
    }

    [Fact]
    public async Task Text_that_is_not_utf8_is_refused()
    {
        var coordinator = await _app.NewCoordinatorAsync();
        var latin1 = new ByteArrayContent([0x69, 0x64, 0x3a, 0x20, 0xe9, 0xe8, 0x0a]);
        latin1.Headers.ContentType = new MediaTypeHeaderValue("application/yaml");
        var problem = await Api.ProblemAsync(await coordinator.PostAsync("/api/surveys", latin1), HttpStatusCode.BadRequest);
        Assert.Contains("not UTF-8", problem["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Only_coordinators_import_and_only_their_own_surveys_are_theirs()
    {
        var coordinator = await _app.NewCoordinatorAsync();
        await Api.OkAsync(await coordinator.PostYamlAsync("/api/surveys", Api.Survey("quick-start.yaml")));
        var other = await _app.NewCoordinatorAsync("other@test.local");
        Assert.Empty((await other.GetOkAsync("/api/surveys")).AsArray());
        await Api.ProblemAsync(await other.GetAsync("/api/surveys/quick-start"), HttpStatusCode.Forbidden);
        await Api.ProblemAsync(await _app.Anonymous().PostYamlAsync("/api/surveys", Api.Survey("quick-start.yaml")), HttpStatusCode.Unauthorized);
        await Api.ProblemAsync(await coordinator.GetAsync("/api/surveys/no-such-survey"), HttpStatusCode.NotFound);

        // Only an admin makes another coordinator a coordinator of the survey.
        await Api.ProblemAsync(await coordinator.PostAsJsonAsync("/api/surveys/quick-start/coordinators", new { email = "other@test.local" }),
            HttpStatusCode.Forbidden);
        await Api.OkAsync(await (await _app.AdminAsync()).PostAsJsonAsync("/api/surveys/quick-start/coordinators", new { email = "other@test.local" }));
        Assert.Single((await other.GetOkAsync("/api/surveys")).AsArray());
    }

    [Fact]
    public async Task A_draft_can_be_replaced_until_round_1_opens()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 2, open: false);
        var changed = Api.Survey("quick-start.yaml").Replace("Quick foresight survey on quantum and AI technologies", "Quick survey, second draft");
        var replaced = await Api.OkAsync(await study.Coordinator.PutYamlAsync($"{QuickStudy.S}/definition", changed));
        Assert.Equal("Quick survey, second draft", replaced["title"]!["en"]!.GetValue<string>());
        Assert.Equal(2, replaced["panel_size"]!.GetValue<int>()); // the panel and its field assignments survive
        Assert.Equal(2, replaced["rules_version"]!.GetValue<int>());

        await study.OpenAsync();
        var refused = await Api.ProblemAsync(await study.Coordinator.PutYamlAsync($"{QuickStudy.S}/definition", changed), HttpStatusCode.Conflict);
        Assert.Contains("question set is fixed", refused["detail"]!.GetValue<string>());
        await Api.ProblemAsync(await study.Coordinator.DeleteAsync(QuickStudy.S), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Each_round_is_judged_by_the_rules_it_opened_with()
    {
        var study = await QuickStudy.CreateAsync(_app, experts: 5, open: false);
        const string strict = "min_n: 5\nquestions:\n  importance: {iqr_max: 0}\nstop: {max_rounds: 3, retire_when: consensus}\n";
        var v2 = await Api.OkAsync(await study.Coordinator.PutYamlAsync($"{QuickStudy.S}/rules", strict));
        Assert.Equal(2, v2["version"]!.GetValue<int>());
        var bad = await Api.ProblemAsync(await study.Coordinator.PutYamlAsync($"{QuickStudy.S}/rules", "questions:\n  speed: {iqr_max: 1}\n"),
            HttpStatusCode.BadRequest);
        Assert.Equal(2, bad["errors"]![0]!["line"]!.GetValue<int>());

        var round1 = await study.OpenAsync();
        Assert.Equal(2, round1["rules_version"]!.GetValue<int>());
        await Api.ProblemAsync(await study.Coordinator.PutYamlAsync($"{QuickStudy.S}/rules", strict), HttpStatusCode.Conflict);

        // importance 6,6,7,7,7: IQR 1. Under v2 (iqr_max 0) no consensus.
        int[] importance = [6, 6, 7, 7, 7];
        for (int e = 0; e < 5; e++)
            foreach (var t in QuickStudy.Topics) await study.AnswerAsync(e, t, QuickStudy.Answer(importance[e]));
        var closed = await study.CloseAsync(1);
        Assert.All(closed["topics"]!.AsArray(), t => Assert.Equal("no_consensus", t!["state"]!.GetValue<string>()));

        const string lenient = "questions:\n  importance: {iqr_max: 1, agree_min_pct: 70}\nstop: {max_rounds: 3}\n";
        Assert.Equal(3, (await Api.OkAsync(await study.Coordinator.PutYamlAsync($"{QuickStudy.S}/rules", lenient)))["version"]!.GetValue<int>());
        var round2 = await study.OpenAsync();
        Assert.Equal(3, round2["rules_version"]!.GetValue<int>());
        for (int e = 0; e < 5; e++)
            foreach (var t in QuickStudy.Topics)
                await study.AnswerAsync(e, t, QuickStudy.Answer(importance[e], rationale: "unchanged"));
        var closed2 = await study.CloseAsync(2);
        Assert.All(closed2["topics"]!.AsArray(), t => Assert.Equal("consensus", t!["state"]!.GetValue<string>()));

        // Round 1 is still judged by version 2.
        var r1 = await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rounds/1/consensus");
        Assert.Equal(2, r1["rules_version"]!.GetValue<int>());
        Assert.All(r1["topics"]!.AsArray(), t => Assert.Equal("no_consensus", t!["state"]!.GetValue<string>()));
        var versions = (await study.Coordinator.GetOkAsync($"{QuickStudy.S}/rules")).AsArray();
        Assert.Equal(3, versions.Count);
        Assert.Equal([1], versions[1]!["rounds"]!.AsArray().Select(r => r!.GetValue<int>()));
        Assert.Equal([2], versions[2]!["rounds"]!.AsArray().Select(r => r!.GetValue<int>()));
        Assert.Contains("iqr_max", versions[0]!["source"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_store_is_created_in_an_empty_directory_with_wal_and_foreign_keys()
    {
        Assert.False(Directory.Exists(_app.Directory));
        await (await _app.AdminAsync()).GetOkAsync("/api/auth/me");
        Assert.True(File.Exists(_app.DatabasePath));
        await using var c = new SqliteConnection($"Data Source={_app.DatabasePath};Foreign Keys=True");
        await c.OpenAsync();
        Assert.Equal("wal", await c.ExecuteScalarAsync<string>("PRAGMA journal_mode"));
        var versions = (await c.QueryAsync<long>("SELECT version FROM schema_migrations ORDER BY version")).ToList();
        Assert.Equal(Enumerable.Range(1, versions.Count).Select(v => (long)v), versions); // every script, in order
        Assert.True(versions.Count >= 2);
        Assert.Equal(1, await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sqlite_master WHERE name = 'survey_stakeholders'"));
        var violation = await Assert.ThrowsAsync<SqliteException>(() =>
            c.ExecuteAsync("INSERT INTO fields (survey_id, code, position) VALUES (999, 'X', 0)"));
        Assert.Contains("FOREIGN KEY", violation.Message);
        var health = await _app.Anonymous().GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
