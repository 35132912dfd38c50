using System.Security.Claims;
using Dapper;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.KeyTechnologies;

/// <param name="Round">the last closed round that asked the topic; its consensus gives the figures</param>
/// <param name="ImportanceIndex">mean of the index questions' importance indices (0-100)</param>
/// <param name="ImportanceIndexFamW">the same, each answer weighted by the expert's familiarity</param>
/// <param name="Years">median realization year of each year question</param>
public sealed record RankedTopic(
    int Rank, int? RankFamW, string Code, string Field, LocalizedText Title, int Round, string State, bool Settled,
    double? ImportanceIndex, double? ImportanceIndexFamW, IReadOnlyDictionary<string, double?> Indices, IReadOnlyDictionary<string, double?> Years);

public sealed record SelectionRequest(string Criteria, IReadOnlyList<string> Topics, Dictionary<string, string>? Notes) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Criteria)) yield return "criteria is required: say how the key technologies were chosen";
        else if (Criteria.Length > 10000) yield return "criteria is longer than 10000 characters";
        if (Topics is null || Topics.Count == 0) yield return "topics must list the selected topic codes";
        else if (Topics.Distinct().Count() != Topics.Count) yield return "topics lists a topic twice";
    }
}

public sealed record SelectedTopic(int Rank, string Code, LocalizedText Title, double? ImportanceIndex, double? ImportanceIndexFamW, string? Note);

public sealed record Selection(long Id, int Round, string Criteria, string CreatedAt, string? CreatedBy, IReadOnlyList<SelectedTopic> Topics);

/// <summary>
/// Key-technology selection (关键技术选择) after the last round: topics ranked by importance index, with and without
/// familiarity weighting; the coordinators' selection is recorded with its criteria (every selection is kept).
/// </summary>
public sealed class KeyTechnologiesService(Db db, SurveyCatalog catalog, TimeProvider clock)
{
    public async Task<List<RankedTopic>> RankingAsync(long surveyId)
    {
        await using var c = await db.OpenAsync();
        return await RankingAsync(c, await catalog.DefinitionAsync(surveyId), surveyId);
    }

    /// <summary>The ranking read on the caller's connection (a report reads all its data on one).</summary>
    public static async Task<List<RankedTopic>> RankingAsync(SqliteConnection c, SurveyDefinition survey, long surveyId, SqliteTransaction? tx = null)
    {
        var closed =
            (await c.QueryAsync<RoundRow>(
            "SELECT * FROM rounds WHERE survey_id = @surveyId AND status = 'closed' AND data_hash IS NOT NULL ORDER BY number DESC", new { surveyId },
            tx)).ToList();
        var topics = (await SurveyStore.TopicsAsync(c, surveyId, tx)).ToDictionary(t => t.Code);
        var latest = new Dictionary<string, (int Round, TopicResult Result)>();
        foreach (var round in closed)
            foreach (var (code, result) in await RoundStore.SnapshotAsync(c, round.Id, tx))
                latest.TryAdd(code, (round.Number, result));

        var index = survey.IndexQuestions;
        var years = survey.Questions.Where(q => q.Kind == QuestionKind.Year).ToList();
        var rows = latest.Where(x => topics.ContainsKey(x.Key)).Select(x =>
        {
            var r = x.Value.Result;
            var indices = index.ToDictionary(q => q.Id, q => r.Question(q.Id)?.Summary?.ImportanceIndex);
            var famw = index.Select(q => r.Question(q.Id)?.Summary?.ImportanceIndexFamW).Where(v => v is not null).ToList();
            var plain = indices.Values.Where(v => v is not null).ToList();
            return (Code: x.Key, x.Value.Round, Result: r, Indices: indices,
                Ii: plain.Count > 0 ? plain.Average() : null, Famw: famw.Count > 0 ? famw.Average() : (double?)null,
                Years: years.ToDictionary(q => q.Id, q => r.Question(q.Id)?.Summary?.Median));
        }).ToList();
        var byFamw = rows.Where(r => r.Famw is not null).OrderByDescending(r => r.Famw).Select((r, i) => (r.Code, Rank: i + 1))
            .ToDictionary(x => x.Code, x => x.Rank);
        return rows.OrderByDescending(r => r.Ii ?? double.MinValue).ThenBy(r => topics[r.Code].Position)
            .Select((r, i) => new RankedTopic(i + 1, byFamw.TryGetValue(r.Code, out var rf) ? rf : null, r.Code, topics[r.Code].FieldCode, topics[r.Code].Title,
                r.Round, r.Result.State, r.Result.Settled, r.Ii, r.Famw, r.Indices, r.Years)).ToList();
    }

    public async Task<List<Selection>> SelectionsAsync(long surveyId)
    {
        await using var c = await db.OpenAsync();
        return await SelectionsAsync(c, surveyId);
    }

    public static async Task<List<Selection>> SelectionsAsync(SqliteConnection c, long surveyId)
    {
        var selections = await c.QueryAsync<(long Id, long RoundNumber, string Criteria, string CreatedAt, string? Email)>("""
            SELECT s.id, s.round_number, s.criteria, s.created_at, u.email FROM key_technology_selections s LEFT JOIN users u ON u.id = s.created_by
            WHERE s.survey_id = @surveyId ORDER BY s.id DESC
            """, new { surveyId });
        var result = new List<Selection>();
        foreach (var s in selections)
        {
            var topics = await c.QueryAsync<(long Rank, string Code, string? TitleZh, string? TitleEn, double? ImportanceIndex, double? ImportanceIndexFamw,
                string? Note)>("""
                SELECT k.rank, t.code, t.title_zh, t.title_en, k.importance_index, k.importance_index_famw, k.note
                FROM key_technologies k JOIN topics t ON t.id = k.topic_id WHERE k.selection_id = @Id ORDER BY k.rank
                """, new { s.Id });
            result.Add(new Selection(s.Id, (int)s.RoundNumber, s.Criteria, s.CreatedAt, s.Email,
                topics.Select(t => new SelectedTopic((int)t.Rank, t.Code, new LocalizedText(t.TitleZh, t.TitleEn), t.ImportanceIndex, t.ImportanceIndexFamw,
                    t.Note)).ToList()));
        }
        return result;
    }

    /// <summary>Records the selected key technologies and the criteria used; needs every round closed.</summary>
    public async Task<Outcome<Selection>> SelectAsync(SurveyRef survey, SelectionRequest body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var latest = await RoundStore.LatestAsync(c, survey.Id, tx);
        if (latest is null) return Refusal.Conflict("No round has been run; key technologies are selected from the results of the last round.");
        if (latest.IsOpen) return Refusal.Conflict($"Round {latest.Number} is open; close it before selecting the key technologies.");
        var ranking = (await RankingAsync(c, await catalog.DefinitionAsync(survey.Id), survey.Id, tx)).ToDictionary(r => r.Code);
        var unknown = body.Topics.Where(t => !ranking.ContainsKey(t)).ToList();
        if (unknown.Count > 0) return Refusal.BadRequest($"{string.Join(", ", unknown)}: not a topic judged in a closed round of this survey.");
        var topicIds = (await SurveyStore.TopicsAsync(c, survey.Id, tx)).ToDictionary(t => t.Code, t => t.Id);
        var id = await c.ExecuteScalarAsync<long>("""
            INSERT INTO key_technology_selections (survey_id, round_number, criteria, created_at, created_by) VALUES (@Id, @Number, @Criteria, @now, @userId)
                RETURNING id
            """, new { survey.Id, latest.Number, Criteria = body.Criteria.Trim(), now = Db.Iso(clock.GetUtcNow()), userId = user.UserId() }, tx);
        for (int i = 0; i < body.Topics.Count; i++)
        {
            var r = ranking[body.Topics[i]];
            await c.ExecuteAsync("""
                INSERT INTO key_technologies (selection_id, topic_id, rank, importance_index, importance_index_famw, note)
                VALUES (@id, @topic, @rank, @ii, @famw, @note)
                """, new { id, topic = topicIds[r.Code], rank = i + 1, ii = r.ImportanceIndex, famw = r.ImportanceIndexFamW,
                    note = body.Notes?.GetValueOrDefault(r.Code) }, tx);
        }
        await c.ExecuteAsync("UPDATE surveys SET status = 'finished' WHERE id = @Id", new { survey.Id }, tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "key_technologies.selected", new { id, body.Topics });
        await tx.CommitAsync();
        return (await SelectionsAsync(c, survey.Id)).First();
    }
}

public static class KeyTechnologiesEndpoints
{
    public static IServiceCollection AddKeyTechnologies(this IServiceCollection services) => services.AddSingleton<KeyTechnologiesService>();

    public static void MapKeyTechnologies(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/key-technologies").WithTags("Key technologies")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        group.MapGet("/ranking", async (SurveyRef survey, KeyTechnologiesService keys) => TypedResults.Ok(await keys.RankingAsync(survey.Id)))
            .WithSummary("Topics by importance index from the last round that asked each, with and without familiarity weighting");
        group.MapGet("/", async (SurveyRef survey, KeyTechnologiesService keys) => TypedResults.Ok(await keys.SelectionsAsync(survey.Id)))
            .WithSummary("The recorded selections, newest first");
        group.MapPost("/", (SurveyRef survey, SelectionRequest body, ClaimsPrincipal user, KeyTechnologiesService keys) =>
                keys.SelectAsync(survey, body, user).ToHttp(v => TypedResults.Created($"/api/surveys/{survey.Id}/key-technologies", v)))
            .Validate<SelectionRequest>().WithSummary("Record the selected key technologies and the criteria used; needs every round closed");
    }
}
