using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Foresight.Server.Features.Experts;
using Foresight.Server.Features.Insights;
using Foresight.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Foresight.Server.Tests;

/// <summary>
/// Issue 23, "long writes in short transactions": a literature import and an expert CSV import are written in batches,
/// each its own write transaction, so an expert's save goes between two batches instead of waiting for the whole file.
/// A literature import in batches is seen only once it is done, reports its progress, finds duplicates across batches,
/// and when the server dies in the middle it is left failed, with its records removed. The tests stop an import
/// between two batches with the services' hooks (awaited with the write gate released) instead of timing anything.
/// </summary>
public sealed class ImportBatchTests
{
    const string S = QuickStudy.S;
    const string I = S + "/insights";

    static MultipartFormDataContent Form(string text, string name)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, "file", name);
        return form;
    }

    /// <summary>
    /// Holds an import after its first batch (write gate released) until <see cref="Release"/>; later batches go through.
    /// Disposed before the server, so that a failed assertion does not leave the import (and the server's stop) waiting.
    /// </summary>
    sealed class FirstBatchGate : IDisposable
    {
        readonly TaskCompletionSource<int> _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Hook(int done)
        {
            if (_reached.TrySetResult(done)) await _released.Task;
        }

        /// <summary>Records (or rows) done when the first batch had committed.</summary>
        public Task<int> Reached => _reached.Task.WaitAsync(TimeSpan.FromSeconds(60));
        public void Release() => _released.TrySetResult();
        public void Dispose() => Release();
    }

    /// <summary>A background import's resource, asked until it is no longer importing.</summary>
    static async Task<JsonNode> FinishedAsync(HttpClient c, Uri location)
    {
        var until = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var import = await c.GetOkAsync(location.ToString());
            if (import["status"]!.GetValue<string>() != "importing") return import;
            if (DateTime.UtcNow > until) throw new TimeoutException($"the import at {location} is still running after 120 s: {import.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    static LiteratureImports Imports(ForesightFactory app, int inline, int batch, FirstBatchGate? gate = null)
    {
        var imports = app.Services.GetRequiredService<LiteratureImports>();
        imports.InlineRecords = inline;
        imports.BatchRecords = batch;
        if (gate is not null) imports.AfterBatch = (_, done) => gate.Hook(done);
        return imports;
    }

    [Fact]
    public async Task A_large_import_runs_in_the_background_shows_its_progress_and_its_records_only_when_done()
    {
        using var app = new ForesightFactory();
        var study = await QuickStudy.CreateAsync(app, experts: 1, open: false);
        var c = study.Coordinator;
        using var gate = new FirstBatchGate();
        Imports(app, inline: 100, batch: 40, gate);

        var response = await c.PostAsync($"{I}/records/import", Form(LiteratureExport.Scopus(), "big.csv"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var location = response.Headers.Location!;
        var started = (await response.Content.ReadFromJsonAsync<JsonNode>())!;
        Assert.EndsWith($"/insights/records/imports/{started["id"]}", location.ToString());
        Assert.Equal("importing", started["status"]!.GetValue<string>());
        Assert.Equal(181, started["total"]!.GetValue<int>()); // 180 records and one repeated; two bad rows are not records
        Assert.Equal([183, 184], started["errors"]!.AsArray().Select(e => e!["line"]!.GetValue<int>()));

        // Stopped after its first batch: the progress is there, its records are not (search, counts, analysis, one record).
        int first = await gate.Reached;
        Assert.InRange(first, 1, 40);
        var during = await c.GetOkAsync(location.ToString());
        Assert.Equal("importing", during["status"]!.GetValue<string>());
        Assert.Equal(first, during["done"]!.GetValue<int>());
        Assert.Equal(181, during["total"]!.GetValue<int>());
        Assert.Equal(first, during["added"]!.GetValue<int>());
        Assert.Null(during["finished_at"]);
        Assert.Equal(0, (await c.GetOkAsync($"{I}/records"))["total"]!.GetValue<long>());
        Assert.Equal(0, (await c.GetOkAsync($"{I}/records?q=qubit"))["total"]!.GetValue<long>());
        Assert.Equal(0, (await c.GetOkAsync($"{I}/records/imports"))[0]!["records_in_survey"]!.GetValue<long>());
        Assert.Equal(0, (await c.GetOkAsync($"{I}/evaluation"))["records"]!.GetValue<long>());
        long someId;
        await using (var db = new SqliteConnection($"Data Source={app.DatabasePath};Mode=ReadOnly;Pooling=False"))
        {
            await db.OpenAsync();
            await using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT MIN(id) FROM literature_records";
            someId = (long)(await cmd.ExecuteScalarAsync())!;
        }
        await Api.ProblemAsync(await c.GetAsync($"{I}/records/{someId}"), HttpStatusCode.NotFound);
        var none = await Api.ProblemAsync(await c.PostAsJsonAsync($"{I}/analyses", new { }), HttpStatusCode.BadRequest);
        Assert.Contains("No record matches", none["detail"]!.GetValue<string>());
        // One import at a time per survey: the running one holds keys another would count as duplicates.
        var second = await Api.ProblemAsync(await c.PostAsync($"{I}/records/import", Form(LiteratureExport.Scopus(4), "small.csv")), HttpStatusCode.Conflict);
        Assert.Contains($"big.csv: {first} of 181 records", second["detail"]!.GetValue<string>());

        // The console shows the progress, with the script that follows it, in both languages.
        var page = await (await c.GetAsync("/console/surveys/quick-start/insights?lang=en")).Content.ReadAsStringAsync();
        Assert.Contains("Importing big.csv in the background.", page);
        Assert.Contains($"data-import-progress=\"/api/surveys/{(await c.GetOkAsync(S))["id"]}/insights/records/imports/{started["id"]}\"", page);
        Assert.Contains($"<progress max=\"181\" value=\"{first}\"", page);
        Assert.Contains("/js/insights-import.js", page);
        var zh = WebUtility.HtmlDecode(await (await c.GetAsync("/console/surveys/quick-start/insights?lang=zh-CN")).Content.ReadAsStringAsync());
        Assert.Contains("正在后台导入 big.csv。", zh);

        gate.Release();
        var done = await FinishedAsync(c, location);
        Assert.Equal("done", done["status"]!.GetValue<string>());
        Assert.Equal(181, done["done"]!.GetValue<int>());
        Assert.Equal(180, done["added"]!.GetValue<int>());
        Assert.Equal(1, done["duplicates"]!.GetValue<int>());
        Assert.NotNull(done["finished_at"]);
        Assert.Equal(180, done["records_in_survey"]!.GetValue<long>());
        Assert.Equal(60, (await c.GetOkAsync($"{I}/records?q=qubit"))["total"]!.GetValue<long>());
        Assert.Equal(180, (await c.GetOkAsync($"{I}/evaluation"))["records"]!.GetValue<long>());
        await c.GetOkAsync($"{I}/records/{someId}");
        page = await (await c.GetAsync("/console/surveys/quick-start/insights?lang=en")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("data-import-progress", page);
        Assert.DoesNotContain("/js/insights-import.js", page);
    }

    [Fact]
    public async Task An_expert_saves_an_answer_while_an_import_is_between_two_batches()
    {
        using var app = new ForesightFactory();
        var study = await QuickStudy.CreateAsync(app, experts: 1);
        using var gate = new FirstBatchGate();
        Imports(app, inline: 100, batch: 40, gate);
        var response = await study.Coordinator.PostAsync($"{I}/records/import", Form(LiteratureExport.Scopus(), "scopus.csv"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await gate.Reached;

        // The import has written a batch and has more to write; the save does not wait for the rest of it.
        var saved = await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(importance: 4));
        Assert.True(saved["complete"]!.GetValue<bool>());
        var import = await study.Coordinator.GetOkAsync(response.Headers.Location!.ToString());
        Assert.Equal("importing", import["status"]!.GetValue<string>());
        Assert.True(import["done"]!.GetValue<int>() < import["total"]!.GetValue<int>());

        gate.Release();
        Assert.Equal("done", (await FinishedAsync(study.Coordinator, response.Headers.Location!))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Duplicates_are_found_across_batches_within_a_file_and_against_earlier_imports()
    {
        using var app = new ForesightFactory();
        var study = await QuickStudy.CreateAsync(app, experts: 1, open: false);
        var c = study.Coordinator;
        Imports(app, inline: 5, batch: 7); // every file below is written in the background, 7 records at most per batch

        async Task<JsonNode> ImportAsync(string text, string name)
        {
            var response = await c.PostAsync($"{I}/records/import", Form(text, name));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var import = await FinishedAsync(c, response.Headers.Location!);
            Assert.Equal("done", import["status"]!.GetValue<string>());
            return import;
        }

        // Scopus(): record 1 comes back at the end of the file, 26 batches after its own.
        var first = await ImportAsync(LiteratureExport.Scopus(), "scopus.csv");
        Assert.Equal((180, 1), (first["added"]!.GetValue<int>(), first["duplicates"]!.GetValue<int>()));
        var again = await ImportAsync(LiteratureExport.Scopus(), "again.csv");
        Assert.Equal((0, 181), (again["added"]!.GetValue<int>(), again["duplicates"]!.GetValue<int>()));

        // A generic CSV: new records, one stored before (its DOI written otherwise), and a title without a DOI twice,
        // far apart and spelt differently.
        var csv = new StringBuilder("title,year,doi,abstract\n");
        for (int i = 0; i < 20; i++) csv.Append($"\"Solid-state battery electrolyte study {i}\",2022,10.2000/new.{i},\"abstract {i}\"\n");
        csv.Append("\"Stored before\",2021,HTTPS://DOI.ORG/10.1000/TEST.5,\"the DOI of Scopus() record 5\"\n");
        csv.Append("\"Sodium-ion anodes: a review\",2023,,\"no DOI\"\n");
        for (int i = 20; i < 40; i++) csv.Append($"\"Solid-state battery electrolyte study {i}\",2022,10.2000/new.{i},\"abstract {i}\"\n");
        csv.Append("\"SODIUM ION ANODES, A REVIEW\",2023,,\"no DOI, the same title\"\n");
        var mixed = await ImportAsync(csv.ToString(), "mixed.csv");
        Assert.Equal(43, mixed["total"]!.GetValue<int>());
        Assert.Equal((41, 2), (mixed["added"]!.GetValue<int>(), mixed["duplicates"]!.GetValue<int>()));
        Assert.Equal(221, mixed["records_in_survey"]!.GetValue<long>());
        Assert.Equal(1, (await c.GetOkAsync($"{I}/records?q=sodium"))["total"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_server_killed_during_an_import_leaves_it_failed_and_its_records_removed()
    {
        var dir = Directory.CreateTempSubdirectory("foresight-import-kill").FullName;
        var db = Path.Combine(dir, "foresight.db");
        ServerProcess? server = null;
        try
        {
            server = await ServerProcess.StartAsync(dir, []);
            using var c = await SignInAsync(server);
            await Api.OkAsync(await c.PostAsync("/api/surveys", new StringContent(await File.ReadAllTextAsync(Path.Combine(Repository.Root(), "surveys",
                "quick-start.yaml")), Encoding.UTF8, "application/yaml")));
            // Large enough that the server is still writing it when the test sees its first batch (about 20 MB).
            var big = LiteratureExport.Scopus(perTheme: 15_000, abstractWords: 40);
            var response = await c.PostAsync($"{I}/records/import", Form(big, "big.csv"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var location = response.Headers.Location!.ToString();
            var until = DateTime.UtcNow.AddSeconds(60);
            JsonNode during;
            while ((during = await c.GetOkAsync(location))["done"]!.GetValue<int>() == 0 && DateTime.UtcNow < until) await Task.Delay(20);
            await server.KillAsync();
            Assert.Equal("importing", during["status"]!.GetValue<string>());
            Assert.InRange(during["done"]!.GetValue<int>(), 1, 45_000);
            Assert.Equal(128 + 9, server.ExitCode);
            await server.DisposeAsync();

            server = await ServerProcess.StartAsync(dir, []);
            using var again = await SignInAsync(server);
            var failed = await again.GetOkAsync(location);
            Assert.Equal("failed", failed["status"]!.GetValue<string>());
            Assert.Equal(LiteratureImports.StoppedError, failed["error"]!.GetValue<string>());
            Assert.Equal(0, failed["records_in_survey"]!.GetValue<long>());
            Assert.Equal(0, (await again.GetOkAsync($"{I}/records?q=qubit"))["total"]!.GetValue<long>());
            var page = await (await again.GetAsync("/console/surveys/quick-start/insights?lang=en")).Content.ReadAsStringAsync();
            Assert.Contains("The import of big.csv failed", page);
            Assert.Contains("The server stopped during the import; none of its records were kept. Import the file again.", page);

            // Its records (and their search entries) are removed in the background; until then another import waits.
            until = DateTime.UtcNow.AddSeconds(60);
            while (await CountAsync(db, "literature_records") > 0 && DateTime.UtcNow < until) await Task.Delay(50);
            Assert.Equal(0, await CountAsync(db, "literature_records"));
            Assert.Equal(0, await CountAsync(db, "literature_search"));
            var small = await Api.OkAsync(await again.PostAsync($"{I}/records/import", Form(LiteratureExport.Scopus(), "small.csv")));
            Assert.Equal((180, 1), (small["added"]!.GetValue<int>(), small["duplicates"]!.GetValue<int>()));
            Assert.Equal(["small.csv", "big.csv"], (await again.GetOkAsync($"{I}/records/imports")).AsArray().Select(i => i!["file_name"]!.GetValue<string>()));
        }
        finally
        {
            if (server is not null) await server.DisposeAsync();
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    static async Task<HttpClient> SignInAsync(ServerProcess server)
    {
        var c = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(120) };
        var token = (await Api.OkAsync(await c.PostAsJsonAsync("/api/auth/signin",
            new { email = ServerProcess.AdminEmail, password = ServerProcess.AdminPassword })))["token"]!.GetValue<string>();
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    static async Task<long> CountAsync(string database, string table)
    {
        await using var c = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await c.OpenAsync();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task An_expert_csv_import_is_written_in_batches_checked_whole_first_and_a_save_goes_between_them()
    {
        // One row per batch, stopped after the first.
        var gate = new FirstBatchGate();
        using var app = new ForesightFactory().WithServices(s => s.AddSingleton(new ExpertService.ImportBatches { BatchTime = TimeSpan.Zero,
            AfterBatch = gate.Hook }));
        using var released = gate; // disposed (released) before the server
        var study = await QuickStudy.CreateAsync(app, experts: 1);
        var c = study.Coordinator;
        var csv = new StringBuilder("name,email,organisation,expertise\n");
        for (int e = 0; e < 30; e++) csv.Append($"Batch Expert {e},batch{e}@test.local,Institute {e},Q;A\n");
        // The panel's expert, whose details the coordinator may change: updated in a later batch.
        csv.Append("Quick Expert Zero,quick0@test.local,Renamed Institute,Q\n");

        // A file with one bad row at the end stores nothing, batches or not.
        var bad = await Api.ProblemAsync(await c.PostAsync("/api/experts/import", new StringContent(csv + "No Email,,X,Q\n", Encoding.UTF8, "text/csv")),
            HttpStatusCode.BadRequest);
        Assert.Contains("Nothing was stored", bad["detail"]!.GetValue<string>());
        Assert.Empty((await c.GetOkAsync("/api/experts?q=Batch Expert")).AsArray());

        var importing = c.PostAsync("/api/experts/import", new StringContent(csv.ToString(), Encoding.UTF8, "text/csv"));
        Assert.Equal(1, await gate.Reached);
        // Between two batches: the first batch is stored, the rest not yet, and an expert's save goes through.
        Assert.Single((await c.GetOkAsync("/api/experts?q=Batch Expert")).AsArray());
        Assert.True((await study.AnswerAsync(0, "Q-T01", QuickStudy.Answer(importance: 5)))["complete"]!.GetValue<bool>());
        Assert.False(importing.IsCompleted);

        gate.Release();
        var imported = await Api.OkAsync(await importing);
        Assert.Equal((30, 1, 0), (imported["added"]!.GetValue<int>(), imported["updated"]!.GetValue<int>(), imported["kept"]!.GetValue<int>()));
        Assert.Equal(31, imported["experts"]!.AsArray().Count);
        Assert.Equal(30, (await c.GetOkAsync("/api/experts?q=Batch Expert")).AsArray().Count);
        Assert.Equal("Renamed Institute", (await c.GetOkAsync("/api/experts?q=quick0@test.local"))[0]!["organisation"]!.GetValue<string>());
    }
}
