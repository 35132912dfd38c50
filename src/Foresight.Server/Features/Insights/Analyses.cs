using Foresight.Core;
using System.Diagnostics;
using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Foresight.Core.Insights;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Insights;

/// <param name="Method">kmeans (default) or agglomerative</param>
/// <param name="K">the number of topics to propose; null chooses it (the k of KMin..KMax with the best silhouette)</param>
public sealed record AnalysisRequest(string? Query, int? YearFrom, int? YearTo, IReadOnlyList<string>? SourceTypes,
    string? Method, int? K, int? KMin, int? KMax, long? Seed) : IValidatable
{
    public RecordFilter Filter => new(string.IsNullOrWhiteSpace(Query) ? null : Query.Trim(), YearFrom, YearTo, SourceTypes);

    public IEnumerable<string> Validate()
    {
        foreach (var e in Filter.Validate()) yield return e;
        if (Method is not (null or "kmeans" or "agglomerative")) yield return "method must be kmeans or agglomerative";
        if (K is < 2 or > 100) yield return "k must be between 2 and 100";
        if (KMin is < 2 or > 100 || KMax is < 2 or > 100) yield return "k_min and k_max must be between 2 and 100";
        if ((KMin ?? 2) > (KMax ?? 12)) yield return "k_min is larger than k_max";
        if (Seed is < 0 or > int.MaxValue) yield return "seed must be between 0 and 2147483647";
    }

    public ClusteringParameters Parameters => new()
    {
        Method = Method == "agglomerative" ? ClusteringMethod.Agglomerative : ClusteringMethod.KMeans,
        K = K, KMin = KMin ?? 2, KMax = KMax ?? 12, Seed = Seed ?? 42,
    };
}

public sealed record AnalysisView(long Id, AnalysisStatus Status, RecordFilter Filter, JsonElement Parameters, int? Records, int? K, double? Silhouette,
    JsonElement? Scores, string? Error, long? DurationMs, string CreatedAt, string? CreatedBy, string? FinishedAt, int Proposals);

/// <summary>
/// Clustering runs: a coordinator asks for one (<see cref="RequestAsync"/>: filter and parameters are stored first), a background job runs
/// <see cref="TopicAnalysis.Run"/> over the selected records and stores one proposal per cluster with its evidence.
/// The job reads everything from the analysis row and does nothing when the row is no longer queued, so running it
/// twice, or again after a restart (<see cref="ResumeAsync"/>), stores each proposal once.
/// </summary>
public sealed class Analyses(Db db, IBackgroundJobClient jobs, IOptions<ForesightOptions> options, TimeProvider clock, ILogger<Analyses> logger)
{
    /// <summary>
    /// Stores the request and queues its run; refused when the filter selects no record, more than the server analyses
    /// at once, too few for the topics asked for, or too many for agglomerative clustering.
    /// </summary>
    public async Task<Outcome<AnalysisView>> RequestAsync(SurveyRef survey, AnalysisRequest body, ClaimsPrincipal user)
    {
        long id;
        await using (var w = await db.BeginWriteAsync())
        {
            var (c, tx) = w;
            if (!string.IsNullOrWhiteSpace(body.Query) && Literature.Match(body.Query) is null)
                return Refusal.BadRequest($"The query '{body.Query}' has no word to search for (only stop words or punctuation).");
            var count = await Literature.CountAsync(c, survey.Id, body.Filter);
            if (count == 0) return Refusal.BadRequest("No record matches the filter; import records first or widen the filter.");
            int max = options.Value.Insights.MaxAnalysisRecords;
            if (count > max)
                return Refusal.BadRequest($"{count} records match; at most {max} are analysed at once (Foresight:Insights:MaxAnalysisRecords). Narrow the " +
                    "filter.");
            var k = body.Parameters.K ?? body.Parameters.KMin;
            if (count < 2 * k) return Refusal.BadRequest($"{count} records match; proposing {k} or more topics needs at least {2 * k}.");
            if (body.Parameters.Method == ClusteringMethod.Agglomerative && count > Clustering.MaxAgglomerativeDocuments)
                return Refusal.BadRequest($"{count} records match; agglomerative clustering takes at most {Clustering.MaxAgglomerativeDocuments}. Use kmeans " +
                    "or narrow the filter.");
            id = await c.ExecuteScalarAsync<long>("""
                INSERT INTO insight_analyses (survey_id, status, filter, parameters, created_at, created_by)
                VALUES (@Id, 'queued', @filter, @parameters, @now, @userId) RETURNING id
                """, new
                {
                    survey.Id, filter = JsonSerializer.Serialize(body.Filter, Json.Stored),
                    parameters = JsonSerializer.Serialize(body.Parameters, Json.Stored), now = Db.Iso(clock.GetUtcNow()), userId = user.UserId(),
                }, tx);
            await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "insights.analysis.requested", new { id, records = count });
            await tx.CommitAsync();
        }
        // Queued after the commit, so that the job finds its row.
        Enqueue(id);
        await using var r = await db.OpenAsync();
        return (await ListAsync(r, survey.Id, id)).Single();
    }

    public async Task<List<AnalysisView>> ListAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        return await ListAsync(c, survey.Id);
    }

    public async Task<Outcome<AnalysisView>> GetAsync(SurveyRef survey, long id)
    {
        await using var c = await db.OpenAsync();
        return (await ListAsync(c, survey.Id, id)).SingleOrDefault() is { } a ? a : Refusal.NotFound($"Survey '{survey.Slug}' has no analysis {id}.");
    }

    public void Enqueue(long analysisId) => jobs.Enqueue<Analyses>(a => a.RunAsync(analysisId));

    public async Task ResumeAsync()
    {
        if (!options.Value.Insights.Enabled) return;
        await using var c = await db.OpenAsync();
        // Queued analyses run one after another on the default queue (Hangfire's workers are shared with deadlines and e-mail).
        foreach (var id in await c.QueryAsync<long>("SELECT id FROM insight_analyses WHERE status = 'queued' ORDER BY id")) Enqueue(id);
    }

    public async Task RunAsync(long analysisId)
    {
        // Switched off: the analysis stays queued and runs when the layer is on again (ResumeAsync).
        if (!options.Value.Insights.Enabled) return;
        (long SurveyId, string Filter, string Parameters) row;
        List<Literature.RecordRow>? records;
        List<FieldDescription> fields;
        await using (var c = await db.OpenAsync())
        {
            row = await c.QuerySingleOrDefaultAsync<(long, string,
                string)>("SELECT survey_id, filter, parameters FROM insight_analyses WHERE id = @analysisId AND status = 'queued'", new { analysisId });
            if (row.SurveyId == 0) return;
            records = await Literature.SelectAsync(c, row.SurveyId, JsonSerializer.Deserialize<RecordFilter>(row.Filter, Json.Stored)!);
            fields = await FieldTextsAsync(c, row.SurveyId);
        }
        var parameters = JsonSerializer.Deserialize<ClusteringParameters>(row.Parameters, Json.Stored)!;
        var watch = Stopwatch.StartNew();
        TopicAnalysisResult? result = null;
        string? error = null;
        try
        {
            if (records is null || records.Count == 0) error = "No record matches the filter.";
            else if (records.Count > options.Value.Insights.MaxAnalysisRecords)
                error = $"{records.Count} records match; at most {options.Value.Insights.MaxAnalysisRecords} are analysed at once. Narrow the filter.";
            else result = TopicAnalysis.Run(records.Select(r => r.Record).ToList(), parameters, new DescriptorOptions(), fields);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // The library refuses input it cannot cluster (too few records for k, no shared vocabulary): say why.
            error = e.Message;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Anything else (e.g. memory) is recorded as failed too: retrying a run that failed this way only repeats it.
            logger.LogError(e, "Analysis {Id} failed", analysisId);
            error = "The analysis stopped with an error on the server (see its log); try fewer records.";
        }
        watch.Stop();

        await using var w = await db.BeginWriteAsync();
        var (wc, tx) = w;
        var status = await wc.ExecuteScalarAsync<string?>("SELECT status FROM insight_analyses WHERE id = @analysisId", new { analysisId }, tx);
        if (status is null || AnalysisStatus.Parse(status) != AnalysisStatus.Queued) return;
        var now = Db.Iso(clock.GetUtcNow());
        if (result is null)
        {
            await wc.ExecuteAsync(
                "UPDATE insight_analyses SET status = 'failed', error = @error, records = @n, duration_ms = @ms, finished_at = @now WHERE id = @analysisId",
                new { error, n = records?.Count ?? 0, ms = watch.ElapsedMilliseconds, now, analysisId }, tx);
            await tx.CommitAsync();
            logger.LogInformation("Analysis {Id} failed: {Error}", analysisId, error);
            return;
        }
        foreach (var cluster in result.Clusters)
        {
            var proposalId = await wc.ExecuteScalarAsync<long>("""
                INSERT INTO insight_proposals (analysis_id, survey_id, cluster, label_terms, size, records_per_year, growth_rate, countries,
                    nearest_field, field_similarity, outside_fields, weak_signal, status)
                VALUES (@analysisId, @surveyId, @Id, @terms, @Size, @years, @GrowthRate, @countries, @NearestField, @NearestFieldSimilarity, @OutsideFields,
                    @WeakSignal, 'open')
                RETURNING id
                """, new
                {
                    analysisId, surveyId = row.SurveyId, cluster.Id, terms = JsonSerializer.Serialize(cluster.LabelTerms, Json.Stored), cluster.Size,
                    years = JsonSerializer.Serialize(cluster.RecordsPerYear, Json.Stored), cluster.GrowthRate,
                    countries = JsonSerializer.Serialize(cluster.Countries, Json.Stored), cluster.NearestField, cluster.NearestFieldSimilarity,
                    cluster.OutsideFields, cluster.WeakSignal,
                }, tx);
            var representative = cluster.Representatives.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i + 1);
            await wc.ExecuteAsync("INSERT INTO insight_proposal_records (proposal_id, record_id, representative) VALUES (@proposalId, @record, @rep)",
                cluster.Members.Select(m => new { proposalId, record = records![m].Id, rep = representative.TryGetValue(m, out var r) ? r : (int?)null }), tx);
        }
        await wc.ExecuteAsync("""
            UPDATE insight_analyses SET status = 'done', parameters = @effective, records = @n, k = @K, silhouette = @Silhouette, scores = @scores,
                duration_ms = @ms, finished_at = @now WHERE id = @analysisId
            """, new
            {
                effective = JsonSerializer.Serialize(result.Clustering.Effective, Json.Stored), n = records!.Count, result.Clustering.K,
                result.Clustering.Silhouette,
                scores = JsonSerializer.Serialize(result.Clustering.Scores, Json.Stored), ms = watch.ElapsedMilliseconds, now, analysisId,
            }, tx);
        await tx.CommitAsync();
        logger.LogInformation("Analysis {Id}: {Records} records into {K} proposals in {Ms} ms", analysisId, records.Count, result.Clustering.K,
            watch.ElapsedMilliseconds);
    }

    /// <summary>
    /// Each field as the analysis compares clusters to it: its names and descriptions in both languages and the titles
    /// of its active topics, so that a cluster on a subject the field already covers is not flagged as outside.
    /// </summary>
    static async Task<List<FieldDescription>> FieldTextsAsync(SqliteConnection c, long surveyId)
    {
        var topics = (await SurveyStore.TopicsAsync(c, surveyId)).Where(t => t.Status == TopicStatus.Active).ToLookup(t => t.FieldId);
        return (await SurveyStore.FieldsAsync(c, surveyId)).Select(f => new FieldDescription(f.Code, string.Join("\n",
            new[] { f.NameZh, f.NameEn, f.DescriptionZh, f.DescriptionEn }.Concat(topics[f.Id].SelectMany(t => new[] { t.TitleZh, t.TitleEn }))
                .Where(s => !string.IsNullOrWhiteSpace(s))))).ToList();
    }

    public static async Task<List<AnalysisView>> ListAsync(SqliteConnection c, long surveyId, long? only = null)
    {
        var rows = await c.QueryAsync<(long Id, string Status, string Filter, string Parameters, long? Records, long? K, double? Silhouette, string? Scores,
            string? Error, long? DurationMs, string CreatedAt, string? By, string? FinishedAt, long Proposals)>("""
            SELECT a.id, a.status, a.filter, a.parameters, a.records, a.k, a.silhouette, a.scores, a.error, a.duration_ms, a.created_at, u.name, a.finished_at,
                (SELECT COUNT(*) FROM insight_proposals p WHERE p.analysis_id = a.id)
            FROM insight_analyses a LEFT JOIN users u ON u.id = a.created_by
            WHERE a.survey_id = @surveyId AND (@only IS NULL OR a.id = @only) ORDER BY a.id DESC
            """, new { surveyId, only });
        return rows.Select(r => new AnalysisView(r.Id, AnalysisStatus.Parse(r.Status), JsonSerializer.Deserialize<RecordFilter>(r.Filter, Json.Stored)!,
            JsonSerializer.Deserialize<JsonElement>(r.Parameters), (int?)r.Records, (int?)r.K, r.Silhouette,
            r.Scores is null ? null : JsonSerializer.Deserialize<JsonElement>(r.Scores), r.Error, r.DurationMs, r.CreatedAt, r.By, r.FinishedAt,
            (int)r.Proposals)).ToList();
    }
}
