using System.Security.Claims;
using System.Text.Json;
using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Consensus;
using Foresight.Server.Features.Live;
using Foresight.Server.Features.Panel;
using Foresight.Server.Features.Questionnaire;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Rounds;

public sealed record OpenRoundRequest(DateTimeOffset? Deadline) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Deadline is { } d && d <= DateTimeOffset.UtcNow) yield return $"deadline {d:O} is in the past";
    }
}

public sealed record DeadlineRequest(DateTimeOffset? Deadline) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Deadline is { } d && d <= DateTimeOffset.UtcNow) yield return $"deadline {d:O} is in the past";
    }
}

public sealed record DecisionRequest(string Decision, string? Note) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Decision is not ("carry" or "retire")) yield return "decision must be 'carry' (ask again in the next round) or 'retire'";
        if (Note is { Length: > 2000 }) yield return "note is longer than 2000 characters";
    }
}

public sealed record Participation(int Invited, int Responded, int Finished, double? ResponseRate, double? FinishedRate, int? DroppedOut, double? DropOutRate);

public sealed record FieldProgress(string Field, int Experts, int Responded, int Topics, int TopicAnswers, int TopicAnswersExpected);

public sealed record RoundView(
    int Number, string Status, int RulesVersion, string OpenedAt, string? Deadline, string? ClosedAt, string? DataHash,
    int Topics, Participation Participation, IReadOnlyList<FieldProgress> Fields, double? SettledPct, bool? StopRecommended, string? StopReason);

public sealed record TopicConsensus(
    string Code, string Field, LocalizedText Title, int Respondents, int NotFamiliar, string State, bool? Stable, bool Settled, bool Polarized,
    string? Proposed, string? Decision, string? DecisionNote,
    [property: System.Text.Json.Serialization.JsonConverter(typeof(QuestionResultsJson))] IReadOnlyList<QuestionResult> Questions);

public sealed record ConsensusView(
    int Round, string Status, int RulesVersion, string? DataHash, double SettledPct, bool StopRecommended, string StopReason,
    IReadOnlyList<RankingResult> Rankings, IReadOnlyList<TopicConsensus> Topics);

/// <summary>
/// Rounds: open (with the survey's active topics and current rules), close (consensus snapshot, data hash,
/// carried and retired topics by the stop rule), override a topic's fate, and read consensus and participation.
/// </summary>
public static class RoundsEndpoints
{
    public static void MapRounds(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/rounds").WithTags("Rounds")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        group.MapGet("/", List);
        group.MapPost("/", Open).Validate<OpenRoundRequest>()
            .WithSummary("Open the next round: round 1 with every topic, later rounds with the topics carried from the last one");
        group.MapGet("/{number:int}", Get);
        group.MapPost("/{number:int}/close", Close).WithSummary("Close the round: its consensus is computed, stored and hashed, and the stop rule proposes which topics go on");
        group.MapPut("/{number:int}/deadline", SetDeadline).Validate<DeadlineRequest>();
        group.MapGet("/{number:int}/consensus", GetConsensus).WithSummary("Per topic and question: n, median, quartiles, IQR, agreement, indices, state; live while the round is open");
        group.MapPut("/{number:int}/topics/{code}/decision", Decide).Validate<DecisionRequest>()
            .WithSummary("Override the stop rule for one topic before the next round opens");
    }

    internal static async Task<Ok<List<RoundView>>> List(SurveyRef survey, Db db, SurveyCatalog catalog)
    {
        await using var c = await db.OpenAsync();
        var result = new List<RoundView>();
        foreach (var r in await RoundStore.AllAsync(c, survey.Id)) result.Add(await ViewAsync(c, catalog, r));
        return TypedResults.Ok(result);
    }

    internal static async Task<Results<Ok<RoundView>, ProblemHttpResult>> Get(SurveyRef survey, int number, Db db, SurveyCatalog catalog)
    {
        await using var c = await db.OpenAsync();
        var round = await RoundStore.RoundAsync(c, survey.Id, number);
        return round is null ? NoRound(survey, number) : TypedResults.Ok(await ViewAsync(c, catalog, round));
    }

    static ProblemHttpResult NoRound(SurveyRef survey, int number) => Problems.NotFound($"Survey '{survey.Slug}' has no round {number}.");

    internal static async Task<Results<Created<RoundView>, ProblemHttpResult>> Open(
        SurveyRef survey, OpenRoundRequest body, ClaimsPrincipal user, Db db, SurveyCatalog catalog, LivePublisher live, QuestionnaireCache cache, RoundLifecycle lifecycle,
        HttpRequest request, IOptions<ForesightOptions> options)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var latest = await RoundStore.LatestAsync(c, survey.Id, tx);
        if (latest is { IsOpen: true })
            return Problems.Conflict($"Round {latest.Number} is still open. Close it first: POST /api/surveys/{survey.Slug}/rounds/{latest.Number}/close.");
        var rulesVersion = await SurveyCatalog.CurrentRulesVersionAsync(c, survey.Id, tx);
        var rules = await catalog.RulesAsync(survey.Id, rulesVersion);
        int number = (latest?.Number ?? 0) + 1;
        if (number > rules.MaxRounds)
            return Problems.Conflict($"The rules allow at most {rules.MaxRounds} rounds, and round {latest!.Number} was the last. Select the key technologies, or declare rules with a higher max_rounds.");
        var topics = await c.QueryAsync<long>("""
            SELECT t.id FROM topics t JOIN fields f ON f.id = t.field_id
            WHERE t.survey_id = @Id AND t.status = 'active' ORDER BY f.position, t.position
            """, new { survey.Id }, tx);
        var topicIds = topics.ToList();
        if (topicIds.Count == 0)
            return Problems.Conflict(number == 1
                ? "The survey has no active topics to ask."
                : $"No topic was carried from round {latest!.Number}: every topic met the stop rule or was retired. Carry a topic with PUT .../rounds/{latest.Number}/topics/{{code}}/decision, or add one.");

        var now = Db.Iso(DateTimeOffset.UtcNow);
        var roundId = await c.ExecuteScalarAsync<long>("""
            INSERT INTO rounds (survey_id, number, status, rules_version, opened_at, opened_by, deadline, link_base)
            VALUES (@Id, @number, 'open', @rulesVersion, @now, @userId, @deadline, @linkBase) RETURNING id
            """, new { survey.Id, number, rulesVersion, now, userId = user.UserId(), deadline = body.Deadline is { } d ? Db.Iso(d) : null,
                linkBase = PanelEndpoints.LinkBase(request, options) }, tx);
        for (int i = 0; i < topicIds.Count; i++)
            await c.ExecuteAsync("INSERT INTO round_topics (round_id, topic_id, position) VALUES (@roundId, @t, @i)", new { roundId, t = topicIds[i], i }, tx);
        await c.ExecuteAsync("""
            INSERT INTO round_members (round_id, member_id)
            SELECT @roundId, id FROM panel_members WHERE survey_id = @Id AND revoked_at IS NULL
            """, new { roundId, survey.Id }, tx);
        await c.ExecuteAsync("UPDATE surveys SET status = 'running' WHERE id = @Id AND status = 'draft'", new { survey.Id }, tx);
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "round.opened", new { number, topics = topicIds.Count, rules_version = rulesVersion, deadline = body.Deadline });
        await tx.CommitAsync();
        cache.ForgetSurvey(survey.Id);
        await live.RoundOpenedAsync(survey.Id);
        var round = (await RoundStore.RoundAsync(c, survey.Id, number))!;
        lifecycle.Opened(round);
        return TypedResults.Created($"/api/surveys/{survey.Id}/rounds/{number}", await ViewAsync(c, catalog, round));
    }

    internal static async Task<Results<Ok<ConsensusView>, ProblemHttpResult>> Close(
        SurveyRef survey, int number, ClaimsPrincipal user, HttpResponse response, Db db, SurveyCatalog catalog, ConsensusService consensus, RoundLifecycle lifecycle)
    {
        var (outcome, closed) = await lifecycle.CloseAsync(survey.Id, number, user.UserId(), queueReports: false);
        if (outcome == RoundLifecycle.Outcome.NotFound) return NoRound(survey, number);
        if (outcome == RoundLifecycle.Outcome.AlreadyClosed) return Problems.Conflict($"Round {number} closed at {closed!.ClosedAt}.");
        // The reports read the whole round again and render it: queued once the coordinator has the answer, so that
        // they do not share the machine with the rest of it (at national scale that made the close seconds longer).
        response.OnCompleted(() => lifecycle.QueueReportsAsync(survey.Id, number));
        await using var c = await db.OpenAsync();
        return TypedResults.Ok(await ConsensusViewAsync(c, catalog, consensus, closed!));
    }

    /// <summary>
    /// Closes a round in the caller's transaction: the consensus of every topic under the round's rules is stored with
    /// a hash of the data; the stop rule proposes carry or retire; retired topics leave the list.
    /// </summary>
    public static async Task CloseAsync(SqliteConnection c, SqliteTransaction tx, SurveyCatalog catalog, ConsensusService consensus, RoundRow round, long? userId)
    {
        var now = Db.Iso(DateTimeOffset.UtcNow);
        var survey = await catalog.DefinitionAsync(round.SurveyId);
        var stored = await RoundStore.AnswersAsync(c, round.Id, tx);
        var answers = stored.Select(a => a.Row).ToList();
        var result = await consensus.ComputeAsync(c, round, tx, answers);
        var topics = await RoundStore.TopicsAsync(c, round.Id, tx);
        var hash = RoundConsensus.DataHash(round.Number, round.RulesVersion, topics.Select(t => t.Code), answers);
        var topicIds = topics.ToDictionary(x => x.Code, x => x.TopicId);
        foreach (var t in result.Topics)
        {
            var topicId = topicIds[t.Topic];
            var proposed = t.Settled ? "retire" : "carry";
            await c.ExecuteAsync("INSERT INTO consensus (round_id, topic_id, result) VALUES (@Id, @topicId, @json)",
                new { round.Id, topicId, json = JsonSerializer.Serialize(t, Json.Stored) }, tx);
            await c.ExecuteAsync("""
                UPDATE round_topics SET state = @State, stable = @stable, proposed = @proposed, decision = @proposed
                WHERE round_id = @Id AND topic_id = @topicId
                """, new { t.State, stable = t.Stable is null ? (int?)null : t.Stable.Value ? 1 : 0, proposed, round.Id, topicId }, tx);
            if (proposed == "retire")
                await c.ExecuteAsync("UPDATE topics SET status = 'retired' WHERE id = @topicId AND status = 'active'", new { topicId }, tx);
        }
        var p = await ParticipationAsync(c, survey, round, topics, stored, tx);
        await c.ExecuteAsync("""
            UPDATE rounds SET status = 'closed', closed_at = @now, closed_by = @userId, data_hash = @hash,
                invited = @Invited, responded = @Responded, finished = @Finished,
                settled_pct = @SettledPct, stop = @stop, stop_reason = @StopReason, rankings = @rankings
            WHERE id = @Id
            """, new
            {
                now, userId, hash, p.Invited, p.Responded, p.Finished, result.SettledPct, stop = result.StopRecommended ? 1 : 0,
                result.StopReason, rankings = JsonSerializer.Serialize(result.Rankings, Json.Stored), round.Id,
            }, tx);
        await Audit.LogAsync(c, tx, userId, round.SurveyId, "round.closed", new
        {
            round.Number, data_hash = hash, settled = result.Topics.Count(t => t.Settled), topics = result.Topics.Count, p.Responded, p.Invited,
        });
    }

    internal static async Task<Results<Ok<RoundView>, ProblemHttpResult>> SetDeadline(
        SurveyRef survey, int number, DeadlineRequest body, ClaimsPrincipal user, Db db, SurveyCatalog catalog, LivePublisher live, QuestionnaireCache cache, RoundLifecycle lifecycle)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var round = await RoundStore.RoundAsync(c, survey.Id, number, tx);
        if (round is null) return NoRound(survey, number);
        if (!round.IsOpen) return Problems.Conflict($"Round {number} is closed; its deadline cannot change.");
        await c.ExecuteAsync("UPDATE rounds SET deadline = @deadline WHERE id = @Id", new { deadline = body.Deadline is { } d ? Db.Iso(d) : null, round.Id }, tx);
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "round.deadline_changed", new { number, body.Deadline });
        await tx.CommitAsync();
        cache.ForgetSurvey(survey.Id);
        await live.DeadlineChangedAsync(survey.Id);
        var changed = (await RoundStore.RoundAsync(c, survey.Id, number))!;
        // Jobs made for the old deadline find it changed and do nothing.
        lifecycle.Schedule(changed);
        return TypedResults.Ok(await ViewAsync(c, catalog, changed));
    }

    internal static async Task<Results<Ok<ConsensusView>, ProblemHttpResult>> GetConsensus(SurveyRef survey, int number, Db db, SurveyCatalog catalog, ConsensusService consensus,
        Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        await using var c = await db.OpenAsync();
        var round = await RoundStore.RoundAsync(c, survey.Id, number);
        if (round is null) return NoRound(survey, number);
        var view = await ConsensusViewAsync(c, catalog, consensus, round);
        QuestionResultsJson.Prepare(view.Topics.Select(t => t.Questions), json.Value.SerializerOptions);
        return TypedResults.Ok(view);
    }

    internal static async Task<Results<Ok<TopicConsensus>, ProblemHttpResult>> Decide(
        SurveyRef survey, int number, string code, DecisionRequest body, ClaimsPrincipal user, Db db, SurveyCatalog catalog, ConsensusService consensus)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var round = await RoundStore.RoundAsync(c, survey.Id, number, tx);
        if (round is null) return NoRound(survey, number);
        if (round.IsOpen) return Problems.Conflict($"Round {number} is open; decide which topics go on after it closes.");
        var latest = await RoundStore.LatestAsync(c, survey.Id, tx);
        if (latest!.Number != number) return Problems.Conflict($"Round {latest.Number} has opened since; decisions on round {number} are final.");
        var topic = (await RoundStore.TopicsAsync(c, round.Id, tx)).FirstOrDefault(t => t.Code == code);
        if (topic is null) return Problems.NotFound($"Topic '{code}' was not in round {number}.");
        if (topic.TopicStatus is "merged" or "split" or "removed")
            return Problems.Conflict($"Topic '{code}' was {topic.TopicStatus} after round {number}; it cannot be carried or retired.");
        await c.ExecuteAsync("UPDATE round_topics SET decision = @Decision, decision_note = @Note, decided_by = @userId WHERE round_id = @Id AND topic_id = @TopicId",
            new { body.Decision, body.Note, userId = user.UserId(), round.Id, topic.TopicId }, tx);
        await c.ExecuteAsync("UPDATE topics SET status = @status WHERE id = @TopicId",
            new { status = body.Decision == "retire" ? "retired" : "active", topic.TopicId }, tx);
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "topic.decision", new { number, code, body.Decision, body.Note, proposed = topic.Proposed });
        await tx.CommitAsync();
        var view = await ConsensusViewAsync(c, catalog, consensus, round);
        return TypedResults.Ok(view.Topics.Single(t => t.Code == code));
    }

    public static async Task<ConsensusView> ConsensusViewAsync(SqliteConnection c, SurveyCatalog catalog, ConsensusService consensus, RoundRow round)
    {
        var result = await consensus.GetAsync(c, round);
        var topics = (await RoundStore.TopicsAsync(c, round.Id)).ToDictionary(t => t.Code);
        return new ConsensusView(round.Number, round.Status, round.RulesVersion, round.DataHash, result.SettledPct, result.StopRecommended, result.StopReason,
            result.Rankings,
            result.Topics.Select(t =>
            {
                var row = topics[t.Topic];
                return new TopicConsensus(t.Topic, t.Field, new LocalizedText(row.TitleZh, row.TitleEn), t.Respondents, t.NotFamiliar, t.State, t.Stable,
                    t.Settled, t.Polarized, row.Proposed, row.Decision, row.DecisionNote, t.Questions);
            }).ToList());
    }

    public static async Task<RoundView> ViewAsync(SqliteConnection c, SurveyCatalog catalog, RoundRow round)
    {
        var survey = await catalog.DefinitionAsync(round.SurveyId);
        var topics = await RoundStore.TopicsAsync(c, round.Id);
        var answers = await RoundStore.AnswersAsync(c, round.Id);
        var p = await ParticipationAsync(c, survey, round, topics, answers);
        var fields = await FieldProgressAsync(c, survey, round, topics, answers);
        return new RoundView(round.Number, round.Status, round.RulesVersion, round.OpenedAt, round.Deadline, round.ClosedAt, round.DataHash,
            topics.Count, p, fields, round.SettledPct, round.Stop is null ? null : round.Stop == 1, round.StopReason);
    }

    /// <summary>
    /// Response: invited experts who answered anything; finished: those who completed every topic of their fields
    /// (answered its required questions or marked it not familiar); drop-out: responded in the previous round, not in this one.
    /// </summary>
    public static async Task<(HashSet<long> Invited, HashSet<long> Responded, HashSet<long> Finished)> MembersByProgressAsync(
        SqliteConnection c, SurveyDefinition survey, RoundRow round, IReadOnlyList<RoundTopicRow> topics, IReadOnlyList<StoredAnswer> answers, SqliteTransaction? tx = null)
    {
        var invited = (await c.QueryAsync<long>("SELECT member_id FROM round_members WHERE round_id = @Id", new { round.Id }, tx)).ToHashSet();
        var assignments = await AssignmentsAsync(c, round, topics, tx);
        // member → topic → the member's answers to it, grouped once (a national round holds millions of answers).
        var byMember = new Dictionary<long, Dictionary<string, List<StoredAnswer>>>();
        foreach (var a in answers)
        {
            if (survey.Question(a.Question) is null) continue;
            if (!byMember.TryGetValue(a.MemberId, out var topicsOf)) byMember[a.MemberId] = topicsOf = new(StringComparer.Ordinal);
            if (!topicsOf.TryGetValue(a.Topic, out var rows)) topicsOf[a.Topic] = rows = [];
            rows.Add(a);
        }
        HashSet<long> responded = [], finished = [];
        foreach (var member in invited)
        {
            if (!byMember.TryGetValue(member, out var mine)) continue;
            responded.Add(member);
            var assigned = assignments[member].ToList();
            if (assigned.Count > 0 && assigned.All(topic => TopicAnswers.IsComplete(survey, round.Number, Current(mine.GetValueOrDefault(topic) ?? []))))
                finished.Add(member);
        }
        return (invited, responded, finished);
    }

    public static async Task<Participation> ParticipationAsync(
        SqliteConnection c, SurveyDefinition survey, RoundRow round, IReadOnlyList<RoundTopicRow> topics, IReadOnlyList<StoredAnswer> answers, SqliteTransaction? tx = null)
    {
        var (invited, respondedSet, finishedSet) = await MembersByProgressAsync(c, survey, round, topics, answers, tx);
        int responded = respondedSet.Count, finished = finishedSet.Count;
        int? dropped = null;
        if (round.Number > 1 && await RoundStore.RoundAsync(c, round.SurveyId, round.Number - 1, tx) is { } previous)
        {
            var before = (await c.QueryAsync<long>("SELECT DISTINCT member_id FROM topic_answers WHERE round_id = @Id", new { previous.Id }, tx)).ToHashSet();
            var now = answers.Where(a => survey.Question(a.Question) is not null).Select(a => a.MemberId).ToHashSet();
            dropped = before.Count(m => !now.Contains(m));
            return new Participation(invited.Count, responded, finished, Rate(responded, invited.Count), Rate(finished, invited.Count), dropped, Rate(dropped.Value, before.Count));
        }
        return new Participation(invited.Count, responded, finished, Rate(responded, invited.Count), Rate(finished, invited.Count), null, null);
    }

    internal static async Task<List<FieldProgress>> FieldProgressAsync(SqliteConnection c, SurveyDefinition survey, RoundRow round, IReadOnlyList<RoundTopicRow> topics, IReadOnlyList<StoredAnswer> answers)
    {
        var members = (await c.QueryAsync<(long MemberId, string Field)>("""
            SELECT pf.member_id, f.code FROM panel_fields pf JOIN fields f ON f.id = pf.field_id
            JOIN round_members rm ON rm.member_id = pf.member_id AND rm.round_id = @Id
            """, new { round.Id })).ToLookup(x => x.Field, x => x.MemberId);
        var topicField = topics.ToDictionary(t => t.Code, t => t.FieldCode);
        var answered = answers.Where(a => survey.Question(a.Question) is not null)
            .Select(a => (a.MemberId, a.Topic)).Distinct().ToLookup(x => topicField.GetValueOrDefault(x.Topic) ?? "");
        return topics.GroupBy(t => t.FieldCode).Select(g =>
        {
            var experts = members[g.Key].ToHashSet();
            var pairs = answered[g.Key].Where(x => experts.Contains(x.MemberId)).ToList();
            return new FieldProgress(g.Key, experts.Count, pairs.Select(x => x.MemberId).Distinct().Count(), g.Count(), pairs.Count, experts.Count * g.Count());
        }).ToList();
    }

    /// <summary>member → the codes of the round's topics in the fields assigned to them.</summary>
    public static async Task<ILookup<long, string>> AssignmentsAsync(SqliteConnection c, RoundRow round, IReadOnlyList<RoundTopicRow> topics, SqliteTransaction? tx = null)
    {
        var fields = await c.QueryAsync<(long MemberId, long FieldId)>("""
            SELECT pf.member_id, pf.field_id FROM panel_fields pf JOIN round_members rm ON rm.member_id = pf.member_id AND rm.round_id = @Id
            """, new { round.Id }, tx);
        var byField = topics.ToLookup(t => t.FieldId, t => t.Code);
        return fields.SelectMany(f => byField[f.FieldId].Select(code => (f.MemberId, code))).ToLookup(x => x.MemberId, x => x.code);
    }

    public static IReadOnlyDictionary<string, QuestionAnswer> Current(IEnumerable<StoredAnswer> rows) =>
        rows.ToDictionary(a => a.Question, a => new QuestionAnswer(AnswerValue.FromStored(a.Value, a.Number), a.Rationale), StringComparer.Ordinal);

    static double? Rate(int part, int whole) => whole == 0 ? null : 100.0 * part / whole;
}
