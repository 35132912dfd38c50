using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Live;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Questionnaire;

public sealed record SaveTopicRequest(Dictionary<string, JsonElement>? Answers, Dictionary<string, string?>? Rationales) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        int n = (Answers?.Count ?? 0) + (Rationales?.Count ?? 0);
        if (n == 0) yield return "send answers and/or rationales, e.g. {\"answers\": {\"importance\": 6}}";
        if (n > 200) yield return "at most 200 answers and rationales per request";
    }
}

public sealed record RankingRequest(string? Field, IReadOnlyList<string> Order) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Order is null || Order.Count == 0) yield return "order must list topic codes, the highest priority first";
        else if (Order.Count > 1000) yield return "order lists more than 1000 topics";
        else if (Order.Distinct().Count() != Order.Count) yield return "order lists a topic twice";
    }
}

public sealed record ProfileRequest(Dictionary<string, string> Answers) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Answers is null || Answers.Count == 0) yield return "answers must map profile question ids to option codes";
    }
}

public sealed record LanguageRequest(string Language) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Languages.Normalize(Language) is null) yield return "language must be zh-CN or en";
    }
}

public sealed record AnswerView(object Value, string? Rationale);

public sealed record TopicEntry(string Code, LocalizedText Title, IReadOnlyList<string> Tags, string Origin, bool Complete, int Answered);

public sealed record QuestionnaireField(string Code, LocalizedText Name, IReadOnlyList<TopicEntry> Topics);

public sealed record RoundInfo(int Number, string Status, string? Deadline);

public sealed record RankingView(string Id, LocalizedText Text, RankingScope Scope, string? Field, IReadOnlyList<string> Topics, IReadOnlyList<string>? YourOrder);

public sealed record Progress(int Topics, int Complete);

public sealed record QuestionnaireView(
    string Survey, LocalizedText Title, LocalizedText? Description, IReadOnlyList<string> Languages, string Pseudonym, string Language,
    RoundInfo? Round, IReadOnlyList<QuestionnaireField> Fields, IReadOnlyList<Question> Questions, IReadOnlyList<RankingView> Rankings,
    IReadOnlyList<ProfileQuestion> Profile, IReadOnlyDictionary<string, string> ProfileAnswers, Progress Progress, bool RealTime);

public sealed record TopicSheet(
    string Code, string Field, LocalizedText Title, LocalizedText? Background, IReadOnlyList<string> Tags, string Origin,
    IReadOnlyList<TopicParent> Parents, RoundInfo Round, IReadOnlyList<string> Questions, IReadOnlyDictionary<string, AnswerView> Answers,
    bool Complete, TopicFeedback? Feedback, int Messages, IReadOnlyList<Insights.ProposalView> Evidence);

public sealed record SavedTopic(string Code, int Round, IReadOnlyDictionary<string, AnswerView> Answers, IReadOnlyList<string> Changed, bool Complete);

public sealed record HistoryEntry(int Round, string Question, string? Value, string? Rationale, string RecordedAt);

/// <summary>
/// The expert's side, opened with the invitation secret: the questionnaire of the open round (their fields'
/// topics, the questions, last round's feedback), saving answers topic by topic, rankings and the profile.
/// </summary>
public static class QuestionnaireEndpoints
{
    public static void MapQuestionnaire(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/questionnaire").WithTags("Questionnaire")
            .RequireAuthorization(Policies.Expert).RequireSurveyRole(SurveyRole.Expert);
        group.MapGet("/", Get).WithSummary("The expert's questionnaire: the open round's topics in their fields, the questions, rankings, profile and progress");
        group.MapGet("/topics/{code}", Topic).WithSummary("One topic: its questions, the expert's answers, the previous round's feedback");
        group.MapPut("/topics/{code}", Save).Validate<SaveTopicRequest>().RequireRateLimiting(RateLimits.Answers).WithMetadata(new BodyLimit(64 * 1024))
            .WithSummary("Save answers to one topic; only the questions sent change; null clears one. An Idempotency-Key header makes a retry safe.");
        group.MapGet("/topics/{code}/history", History).WithSummary("Every change the expert made to this topic's answers");
        group.MapPut("/rankings/{ranking}", Rank).Validate<RankingRequest>().RequireRateLimiting(RateLimits.Answers).WithMetadata(new BodyLimit(64 * 1024));
        group.MapPut("/profile", Profile).Validate<ProfileRequest>().WithMetadata(new BodyLimit(16 * 1024));
        group.MapPut("/language", Language).Validate<LanguageRequest>();
    }

    sealed record Member(long Id, string Pseudonym, string? Language, long ExpertId, string ExpertLanguage);

    static async Task<Member> MemberAsync(SqliteConnection c, ClaimsPrincipal user, SqliteTransaction? tx = null) =>
        await c.QuerySingleAsync<Member>("""
            SELECT m.id, m.pseudonym, m.language, m.expert_id, e.language AS expert_language
            FROM panel_members m JOIN experts e ON e.id = m.expert_id WHERE m.id = @id
            """, new { id = user.MemberId() }, tx);

    /// <summary>The round an expert works on: the open one, else the latest (read-only).</summary>
    static async Task<RoundRow?> CurrentRoundAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null) =>
        await RoundStore.OpenRoundAsync(c, surveyId, tx) ?? await RoundStore.LatestAsync(c, surveyId, tx);

    static async Task<List<RoundTopicRow>> MyTopicsAsync(SqliteConnection c, RoundRow round, long memberId, SqliteTransaction? tx = null)
    {
        var fields = (await c.QueryAsync<long>("SELECT field_id FROM panel_fields WHERE member_id = @memberId", new { memberId }, tx)).ToHashSet();
        return (await RoundStore.TopicsAsync(c, round.Id, tx)).Where(t => fields.Contains(t.FieldId)).ToList();
    }

    static async Task<Dictionary<string, Dictionary<string, QuestionAnswer>>> MyAnswersAsync(SqliteConnection c, SurveyDefinition survey, RoundRow round, long memberId, SqliteTransaction? tx = null)
    {
        var rows = await c.QueryAsync<(string Topic, string Answers)>("""
            SELECT t.code, a.answers FROM topic_answers a JOIN topics t ON t.id = a.topic_id
            WHERE a.round_id = @Id AND a.member_id = @memberId
            """, new { round.Id, memberId }, tx);
        return rows.ToDictionary(r => r.Topic, r => TopicAnswerRow.Parse(r.Answers)
            .Where(a => survey.Question(a.Key) is not null)
            .ToDictionary(a => a.Key, a => new QuestionAnswer(AnswerValue.FromStored(a.Value.Value, a.Value.Number), a.Value.Rationale)));
    }

    static Progress ProgressOf(SurveyDefinition survey, RoundRow round, IReadOnlyList<RoundTopicRow> topics, IReadOnlyDictionary<string, Dictionary<string, QuestionAnswer>> answers) =>
        new(topics.Count, topics.Count(t => answers.TryGetValue(t.Code, out var a) && TopicAnswers.IsComplete(survey, round.Number, a)));

    static RoundInfo Info(RoundRow r) => new(r.Number, r.Status, r.Deadline);

    internal static async Task<Ok<QuestionnaireView>> Get(SurveyRef survey, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        await using var c = await db.OpenAsync();
        var me = await MemberAsync(c, user);
        var round = await CurrentRoundAsync(c, survey.Id);
        var fields = await SurveyStore.FieldsAsync(c, survey.Id);
        var myFieldIds = (await c.QueryAsync<long>("SELECT field_id FROM panel_fields WHERE member_id = @Id", new { me.Id })).ToHashSet();
        var topics = round is null ? [] : await MyTopicsAsync(c, round, me.Id);
        var answers = round is null ? [] : await MyAnswersAsync(c, definition, round, me.Id);
        var allTopics = (await SurveyStore.TopicsAsync(c, survey.Id)).ToDictionary(t => t.Code);

        var fieldViews = fields.Where(f => myFieldIds.Contains(f.Id)).Select(f => new QuestionnaireField(f.Code, f.Name,
            topics.Where(t => t.FieldId == f.Id).Select(t =>
            {
                var row = allTopics[t.Code];
                var mine = answers.GetValueOrDefault(t.Code) ?? [];
                return new TopicEntry(t.Code, row.Title, row.TagList, row.Origin, mine.Count > 0 && TopicAnswers.IsComplete(definition, round!.Number, mine), mine.Count);
            }).ToList())).ToList();

        var rankings = new List<RankingView>();
        if (round is not null)
        {
            var rankRows = (await c.QueryAsync<(string Topic, string Answers)>("""
                SELECT t.code, a.answers FROM topic_answers a JOIN topics t ON t.id = a.topic_id
                WHERE a.round_id = @Id AND a.member_id = @member
                """, new { round.Id, member = me.Id }))
                .SelectMany(r => TopicAnswerRow.Parse(r.Answers).Select(a => (Question: a.Key, r.Topic, a.Value.Number))).ToList();
            foreach (var r in definition.Rankings.Where(r => r.AskedIn(round.Number)))
            {
                var scopes = r.Scope == RankingScope.Field
                    ? topics.GroupBy(t => t.FieldCode).Select(g => ((string?)g.Key, g.Select(t => t.Code).ToList()))
                    : [((string?)null, topics.Select(t => t.Code).ToList())];
                foreach (var (field, codes) in scopes)
                {
                    var mine = rankRows.Where(x => x.Question == r.Id && codes.Contains(x.Topic)).OrderBy(x => x.Number).Select(x => x.Topic).ToList();
                    rankings.Add(new RankingView(r.Id, r.Text, r.Scope, field, codes, mine.Count > 0 ? mine : null));
                }
            }
        }
        var profile = (await c.QueryAsync<(string Question, string Value)>("SELECT question, value FROM profile_answers WHERE member_id = @Id", new { me.Id }))
            .ToDictionary(p => p.Question, p => p.Value);
        return TypedResults.Ok(new QuestionnaireView(survey.Slug, definition.Title, definition.Description, definition.Languages, me.Pseudonym,
            me.Language ?? me.ExpertLanguage, round is null ? null : Info(round), fieldViews,
            round is null ? definition.Questions : definition.Questions.Where(q => q.AskedIn(round.Number)).ToList(),
            rankings, definition.Profile, profile, round is null ? new Progress(0, 0) : ProgressOf(definition, round, topics, answers), definition.Live.RealTime));
    }

    internal static async Task<Results<Ok<TopicSheet>, ProblemHttpResult>> Topic(SurveyRef survey, string code, ClaimsPrincipal user, Db db, SurveyCatalog catalog,
        IOptions<ForesightOptions> options)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        await using var c = await db.OpenAsync();
        var me = await MemberAsync(c, user);
        var round = await CurrentRoundAsync(c, survey.Id);
        if (round is null) return Problems.Conflict("No round has opened yet.");
        var topics = await MyTopicsAsync(c, round, me.Id);
        var entry = topics.FirstOrDefault(t => t.Code == code);
        if (entry is null) return Problems.NotFound($"Topic '{code}' is not in your questionnaire for round {round.Number}.");
        var row = (await SurveyStore.TopicAsync(c, survey.Id, code))!;
        var parents = (await SurveyStore.ParentsAsync(c, survey.Id))[row.Id].ToList();
        var answers = (await MyAnswersAsync(c, definition, round, me.Id)).GetValueOrDefault(code) ?? [];
        TopicFeedback? feedback = null;
        if (round.Number > 1 && await RoundStore.RoundAsync(c, survey.Id, round.Number - 1) is { } previous)
            feedback = await Feedback.BuildAsync(c, definition, previous, row, me.Id, options.Value.Insights.Enabled);
        var messages = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM messages WHERE topic_id = @Id AND hidden_at IS NULL", new { row.Id });
        return TypedResults.Ok(new TopicSheet(code, row.FieldCode, row.Title, row.Background, row.TagList, row.Origin, parents, Info(round),
            definition.Questions.Where(q => q.AskedIn(round.Number)).Select(q => q.Id).ToList(),
            Views(definition, answers), answers.Count > 0 && TopicAnswers.IsComplete(definition, round.Number, answers), feedback, (int)messages,
            options.Value.Insights.Enabled ? await Insights.Review.EvidenceAsync(c, survey.Id, row.Id) : []));
    }

    public static Dictionary<string, AnswerView> Views(SurveyDefinition s, IReadOnlyDictionary<string, QuestionAnswer> answers) =>
        answers.ToDictionary(a => a.Key, a => new AnswerView(a.Value.Value.ToJson(s.Question(a.Key)!), a.Value.Rationale));

    /// <summary>Checks the open round and its deadline; returns the round or why answers are not taken.</summary>
    static async Task<(RoundRow? Round, ProblemHttpResult? Error)> OpenForAnswersAsync(SqliteConnection c, long surveyId, SqliteTransaction tx)
    {
        var round = await RoundStore.OpenRoundAsync(c, surveyId, tx);
        if (round is null)
        {
            var latest = await RoundStore.LatestAsync(c, surveyId, tx);
            return (null, Problems.Conflict(latest is null ? "No round has opened yet; answers are taken while a round is open."
                : $"Round {latest.Number} closed at {latest.ClosedAt}; answers are no longer taken."));
        }
        if (round.Deadline is { } d && string.CompareOrdinal(d, Db.Iso(DateTimeOffset.UtcNow)) <= 0)
            return (null, Problems.Conflict($"The deadline of round {round.Number} ({d}) has passed; answers are no longer taken."));
        return (round, null);
    }

    static Task<IResult> Save(SurveyRef survey, string code, SaveTopicRequest body, ClaimsPrincipal user, HttpRequest request,
        SurveyCatalog catalog, QuestionnaireCache cache, AnswerWriter writer) =>
        SaveAsync(survey, code, body, user, request, catalog, cache, writer, store: true);

    /// <param name="store">false only for the save ladder's benchmark step (<see cref="SaveLadder"/>): everything but the answer writer</param>
    internal static async Task<IResult> SaveAsync(SurveyRef survey, string code, SaveTopicRequest body, ClaimsPrincipal user, HttpRequest request,
        SurveyCatalog catalog, QuestionnaireCache cache, AnswerWriter writer, bool store)
    {
        string? key = request.Headers["Idempotency-Key"].FirstOrDefault();
        if (key is { Length: > 200 }) return Problems.BadRequest("Idempotency-Key is longer than 200 characters.");
        var (outcome, round, problem) = await SubmitAsync(survey, code, body, user, key, catalog, cache, writer, store);
        if (problem is not null) return problem;
        return outcome switch
        {
            // Written as UTF-8 straight away (the busiest answer of the server).
            SaveOutcome.Saved saved => TypedResults.Bytes(JsonSerializer.SerializeToUtf8Bytes(Saved(await catalog.DefinitionAsync(survey.Id), code, round, saved), JsonOptions(request)), "application/json"),
            SaveOutcome.Replayed replay => TypedResults.Text(replay.Response, "application/json", Encoding.UTF8),
            SaveOutcome.Refused refused => Problems.Conflict(refused.Detail),
            SaveOutcome.Invalid invalid => Problems.BadRequest(invalid.Errors.Count == 1 ? invalid.Errors[0].Message + ". Nothing was saved."
                : $"{invalid.Errors.Count} problems; nothing was saved: {invalid.Errors[0].Message} ...", invalid.Errors.Select(e => (object)e.Message)),
            _ => throw new InvalidOperationException("unknown outcome"),
        };
    }

    /// <summary>Saves answers to one topic for the API and the expert's pages alike: the round must be open and the topic the expert's.</summary>
    internal static async Task<(SaveOutcome? Outcome, int Round, ProblemHttpResult? Problem)> SubmitAsync(SurveyRef survey, string code, SaveTopicRequest body,
        ClaimsPrincipal user, string? idempotencyKey, SurveyCatalog catalog, QuestionnaireCache cache, AnswerWriter writer, bool store = true)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        var open = await cache.OpenRoundAsync(survey.Id);
        if (open is null) return (null, 0, Problems.Conflict("No round is open; answers are taken while a round is open."));
        var round = open.Round;
        if (round.Deadline is { } d && string.CompareOrdinal(d, Db.Iso(DateTimeOffset.UtcNow)) <= 0)
            return (null, round.Number, Problems.Conflict($"The deadline of round {round.Number} ({d}) has passed; answers are no longer taken."));
        var memberId = user.MemberId()!.Value;
        if (!open.Topics.TryGetValue(code, out var topic) || !(await cache.MemberFieldsAsync(memberId)).Contains(topic.FieldId))
            return (null, round.Number, Problems.NotFound($"Topic '{code}' is not in your questionnaire for round {round.Number}."));

        if (!store)
        {
            // Checked as a first answer to the topic would be, and answered as saved; nothing is written.
            var applied = TopicAnswers.Apply(definition, round.Number, new Dictionary<string, QuestionAnswer>(StringComparer.Ordinal),
                body.Answers ?? [], body.Rationales ?? [], await cache.QuartilesAsync(survey.Id, round, code));
            return (applied.Ok ? new SaveOutcome.Saved(applied.Answers, [.. applied.Answers.Keys.Order(StringComparer.Ordinal)],
                TopicAnswers.IsComplete(definition, round.Number, applied.Answers)) : new SaveOutcome.Invalid(applied.Errors), round.Number, null);
        }
        var outcome = await writer.SubmitAsync(new Submission(survey.Id, definition, round.Id, round.Number, memberId, user.Identity!.Name!, code, topic.TopicId,
            body.Answers ?? [], body.Rationales ?? [], await cache.QuartilesAsync(survey.Id, round, code), idempotencyKey,
            // Only a keyed request is compared with an earlier one (the body is serialized again for it).
            idempotencyKey is null ? null : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(code + "\n" + JsonSerializer.Serialize(body))))));
        return (outcome, round.Number, null);
    }

    /// <summary>The answer to a save, as JSON (stored as it is for an Idempotency-Key replay).</summary>
    public static string Response(SurveyDefinition definition, string code, int round, SaveOutcome.Saved saved, JsonSerializerOptions json) =>
        JsonSerializer.Serialize(Saved(definition, code, round, saved), json);

    static SavedTopic Saved(SurveyDefinition definition, string code, int round, SaveOutcome.Saved saved) =>
        new(code, round, Views(definition, saved.Answers), saved.Changed, saved.Complete);

    static JsonSerializerOptions JsonOptions(HttpRequest request) =>
        request.HttpContext.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;

    static async Task<Results<Ok<List<HistoryEntry>>, ProblemHttpResult>> History(SurveyRef survey, string code, ClaimsPrincipal user, Db db)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<(long Round, string Question, string? Value, string? Rationale, string RecordedAt)>("""
            SELECT r.number, j.key, j.value ->> 'value', j.value ->> 'rationale', h.recorded_at
            FROM answer_history h JOIN rounds r ON r.id = h.round_id JOIN topics t ON t.id = h.topic_id, json_each(h.changes) j
            WHERE h.member_id = @member AND t.code = @code AND t.survey_id = @Id ORDER BY h.id, j.key
            """, new { member = user.MemberId(), code, survey.Id });
        return TypedResults.Ok(rows.Select(r => new HistoryEntry((int)r.Round, r.Question, r.Value, r.Rationale, r.RecordedAt)).ToList());
    }

    internal static async Task<Results<Ok<RankingView>, ProblemHttpResult>> Rank(SurveyRef survey, string ranking, RankingRequest body, ClaimsPrincipal user, Db db, SurveyCatalog catalog, LivePublisher live)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var (round, closed) = await OpenForAnswersAsync(c, survey.Id, tx);
        if (closed is not null) return closed;
        var r = definition.Rankings.FirstOrDefault(x => x.Id == ranking);
        if (r is null) return Problems.NotFound($"The survey has no ranking '{ranking}'.");
        if (!r.AskedIn(round!.Number)) return Problems.BadRequest($"Ranking '{ranking}' is not asked in round {round.Number}.");
        var memberId = user.MemberId()!.Value;
        var topics = await MyTopicsAsync(c, round, memberId, tx);
        string? field = null;
        if (r.Scope == RankingScope.Field)
        {
            var myFields = topics.Select(t => t.FieldCode).Distinct().ToList();
            field = body.Field ?? (myFields.Count == 1 ? myFields[0] : null);
            if (field is null) return Problems.BadRequest($"Ranking '{ranking}' ranks the topics of one field; say which: field is one of {string.Join(", ", myFields)}.");
            if (!myFields.Contains(field)) return Problems.BadRequest($"Field '{field}' is not one of yours ({string.Join(", ", myFields)}).");
            topics = topics.Where(t => t.FieldCode == field).ToList();
        }
        var scope = topics.ToDictionary(t => t.Code);
        var unknown = body.Order.Where(code => !scope.ContainsKey(code)).ToList();
        if (unknown.Count > 0)
            return Problems.BadRequest($"{string.Join(", ", unknown)} {(unknown.Count == 1 ? "is" : "are")} not among the topics to rank: {string.Join(", ", scope.Keys)}.");

        var now = Db.Iso(DateTimeOffset.UtcNow);
        // The ranking is one key of each ranked topic's row, beside the expert's answers to the topic, which stay as they are.
        var rows = (await c.QueryAsync<(long TopicId, string Answers)>(
            "SELECT topic_id, answers FROM topic_answers WHERE round_id = @Id AND member_id = @memberId", new { round.Id, memberId }, tx))
            .Where(x => scope.Values.Any(t => t.TopicId == x.TopicId)).ToDictionary(x => x.TopicId, x => TopicAnswerRow.Parse(x.Answers));
        var existing = rows.Where(x => x.Value.ContainsKey(ranking)).ToDictionary(x => x.Key, x => x.Value[ranking].Number!.Value);
        var wanted = body.Order.Select((code, i) => (scope[code].TopicId, Rank: i + 1.0)).ToDictionary(x => x.TopicId, x => x.Rank);
        foreach (var topicId in existing.Keys.Union(wanted.Keys))
        {
            bool has = wanted.TryGetValue(topicId, out var rank);
            if (existing.TryGetValue(topicId, out var old) && has && old == rank) continue;
            var value = has ? ((int)rank).ToString() : null;
            var entries = rows.GetValueOrDefault(topicId) ?? new Dictionary<string, TopicAnswerRow.Entry>(StringComparer.Ordinal);
            if (has) entries[ranking] = new TopicAnswerRow.Entry(value!, rank, null, (entries.TryGetValue(ranking, out var before) ? before.Revision : 0) + 1, now);
            else entries.Remove(ranking);
            var args = new { roundId = round.Id, memberId, topicId, answers = TopicAnswerRow.Write(entries), now };
            if (args.answers is not null)
                await c.ExecuteAsync("""
                    INSERT INTO topic_answers (round_id, member_id, topic_id, answers, updated_at) VALUES (@roundId, @memberId, @topicId, @answers, @now)
                    ON CONFLICT (round_id, member_id, topic_id) DO UPDATE SET answers = excluded.answers, updated_at = excluded.updated_at
                    """, args, tx);
            else
                await c.ExecuteAsync("DELETE FROM topic_answers WHERE round_id = @roundId AND member_id = @memberId AND topic_id = @topicId", args, tx);
            await c.ExecuteAsync("INSERT INTO answer_history (round_id, member_id, topic_id, changes, recorded_at) VALUES (@roundId, @memberId, @topicId, @changes, @now)",
                new { args.roundId, args.memberId, args.topicId, changes = AnswerHistory.Of(ranking, value, has ? rank : null), args.now }, tx);
        }
        await tx.CommitAsync();
        // Still under the write gate, so two saves of one expert reach the kept round in the order they committed.
        var codeOf = scope.Values.ToDictionary(t => t.TopicId, t => t.Code);
        live.RankingSaved(survey.Id, memberId, user.Identity!.Name!, ranking,
            existing.Keys.Union(wanted.Keys).ToDictionary(id => codeOf[id], id => wanted.TryGetValue(id, out var rank) ? rank : (double?)null));
        return TypedResults.Ok(new RankingView(r.Id, r.Text, r.Scope, field, scope.Keys.ToList(), body.Order));
    }

    internal static async Task<Results<Ok<Dictionary<string, string>>, ProblemHttpResult>> Profile(SurveyRef survey, ProfileRequest body, ClaimsPrincipal user, Db db, SurveyCatalog catalog)
    {
        var definition = await catalog.DefinitionAsync(survey.Id);
        var errors = new List<string>();
        foreach (var (id, value) in body.Answers)
        {
            var q = definition.Profile.FirstOrDefault(p => p.Id == id);
            if (q is null) errors.Add($"the survey has no profile question '{id}'; its profile questions are {string.Join(", ", definition.Profile.Select(p => p.Id))}");
            else if (q.Options.All(o => o.Code != value)) errors.Add($"'{id}' takes one of {string.Join(", ", q.Options.Select(o => o.Code))}; got '{value}'");
        }
        if (errors.Count > 0) return Problems.BadRequest(errors[0] + ". Nothing was saved.", errors.Cast<object>());
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var memberId = user.MemberId();
        foreach (var (id, value) in body.Answers)
            await c.ExecuteAsync("""
                INSERT INTO profile_answers (member_id, question, value) VALUES (@memberId, @id, @value)
                ON CONFLICT (member_id, question) DO UPDATE SET value = excluded.value
                """, new { memberId, id, value }, tx);
        await tx.CommitAsync();
        var all = (await c.QueryAsync<(string Question, string Value)>("SELECT question, value FROM profile_answers WHERE member_id = @memberId", new { memberId }))
            .ToDictionary(p => p.Question, p => p.Value);
        return TypedResults.Ok(all);
    }

    internal static async Task<NoContent> Language(SurveyRef survey, LanguageRequest body, ClaimsPrincipal user, Db db)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        await c.ExecuteAsync("UPDATE panel_members SET language = @language WHERE id = @id", new { language = Languages.Normalize(body.Language), id = user.MemberId() }, tx);
        await tx.CommitAsync();
        return TypedResults.NoContent();
    }
}
