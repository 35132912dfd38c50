using System.Security.Claims;
using Dapper;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Messages;

/// <summary>
/// Topic messages for the API, the expert's topic page and the coordinator's moderation page alike. An expert writes
/// while the round is open for them (the questionnaire's <see cref="Foresight.Core.Answers.AnswerWindow"/>).
/// </summary>
public sealed class MessagesService(Db db, IAnswerWindows windows, TimeProvider clock)
{
    /// <summary>An expert sees the messages of topics in their fields; a coordinator sees every topic.</summary>
    static async Task<Outcome<TopicRow>> TopicAsync(SqliteConnection c, SurveyRef survey, string code, ClaimsPrincipal user)
    {
        var topic = await SurveyStore.TopicAsync(c, survey.Id, code);
        if (topic is null) return Refusal.NotFound($"Survey '{survey.Slug}' has no topic '{code}'.");
        if (user.MemberId() is { } member &&
            await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM panel_fields WHERE member_id = @member AND field_id = @FieldId",
            new { member, topic.FieldId }) == 0)
            return Refusal.NotFound($"Topic '{code}' is not in your fields.");
        return topic;
    }

    public async Task<Outcome<List<MessageView>>> ListAsync(SurveyRef survey, string code, ClaimsPrincipal user)
    {
        await using var c = await db.OpenAsync();
        var found = await TopicAsync(c, survey, code, user);
        if (found.Refusal is { } refused) return refused;
        var topic = found.Value!;
        bool coordinator = user.MemberId() is null;
        var rows = await c.QueryAsync<(long Id, long? MemberId, string? Pseudonym, long? ReplyTo, long? RoundNumber, string Body, string CreatedAt,
            string? HiddenAt, string? HiddenReason)>("""
            SELECT g.id, g.member_id, m.pseudonym, g.reply_to, g.round_number, g.body, g.created_at, g.hidden_at, g.hidden_reason
            FROM messages g LEFT JOIN panel_members m ON m.id = g.member_id
            WHERE g.topic_id = @Id AND (@coordinator = 1 OR g.hidden_at IS NULL) ORDER BY g.id
            """, new { topic.Id, coordinator = coordinator ? 1 : 0 });
        var me = user.MemberId();
        return rows.Select(r => new MessageView(r.Id, code, r.Pseudonym is null ? "Coordinator" : $"Expert {r.Pseudonym}",
            me is not null && r.MemberId == me, r.ReplyTo, (int?)r.RoundNumber, r.Body, r.CreatedAt, r.HiddenAt is not null, coordinator ? r.HiddenReason
                : null)).ToList();
    }

    public async Task<Outcome<MessageView>> PostAsync(SurveyRef survey, string code, PostMessage body, ClaimsPrincipal user)
    {
        await using var c = await db.OpenAsync();
        var found = await TopicAsync(c, survey, code, user);
        if (found.Refusal is { } refused) return refused;
        var topic = found.Value!;
        int? round;
        if (user.MemberId() is { } member)
        {
            var window = await windows.ForMemberAsync(survey.Id, member);
            if (!window.Open) return Refusal.Conflict("Messages are written while the round is open for you. " + window.Message);
            round = window.Round;
        }
        else round = (await RoundStore.OpenRoundAsync(c, survey.Id))?.Number;
        if (body.ReplyTo is { } parent &&
            await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM messages WHERE id = @parent AND topic_id = @Id AND hidden_at IS NULL",
            new { parent, topic.Id }) == 0)
            return Refusal.BadRequest($"Message {parent} is not a visible message of topic '{code}'.");
        var now = Db.Iso(clock.GetUtcNow());
        long id;
        await using (var w = await db.BeginWriteAsync())
        {
            id = await w.Connection.ExecuteScalarAsync<long>("""
                INSERT INTO messages (survey_id, topic_id, member_id, user_id, reply_to, round_number, body, created_at)
                VALUES (@surveyId, @topicId, @member, @userId, @ReplyTo, @round, @text, @now) RETURNING id
                """, new { surveyId = survey.Id, topicId = topic.Id, member = user.MemberId(), userId = user.UserId(), body.ReplyTo, round,
                    text = body.Body.Trim(), now }, w.Transaction);
            await w.CommitAsync();
        }
        var author = user.MemberId() is null ? "Coordinator" : $"Expert {user.Identity!.Name}";
        return new MessageView(id, code, author, true, body.ReplyTo, round, body.Body.Trim(), now, false, null);
    }

    /// <summary>Hides a message (with a reason) or shows it again; coordinators only.</summary>
    public async Task<Outcome<Done>> SetHiddenAsync(SurveyRef survey, long id, ClaimsPrincipal user, bool hide, string? reason)
    {
        if (user.MemberId() is not null) return Refusal.Forbidden("Only coordinators moderate messages.");
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var n = await c.ExecuteAsync(hide
            ? "UPDATE messages SET hidden_at = @now, hidden_by = @userId, hidden_reason = @reason WHERE id = @id AND survey_id = @surveyId"
            : "UPDATE messages SET hidden_at = NULL, hidden_by = NULL, hidden_reason = NULL WHERE id = @id AND survey_id = @surveyId",
            new { now = Db.Iso(clock.GetUtcNow()), userId = user.UserId(), reason, id, surveyId = survey.Id }, tx);
        if (n == 0) return Refusal.NotFound($"Survey '{survey.Slug}' has no message {id}.");
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, hide ? "message.hidden" : "message.shown", new { id, reason });
        await tx.CommitAsync();
        return new Done();
    }

    /// <summary>Every message of the survey for moderation, newest first (at most 1,000).</summary>
    public async Task<List<ModeratedMessage>> ModerationAsync(long surveyId)
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<(long Id, string Topic, string? Pseudonym, long? Round, string Body, string CreatedAt, string? HiddenAt,
            string? HiddenReason)>("""
            SELECT g.id, t.code, m.pseudonym, g.round_number, g.body, g.created_at, g.hidden_at, g.hidden_reason
            FROM messages g JOIN topics t ON t.id = g.topic_id LEFT JOIN panel_members m ON m.id = g.member_id
            WHERE g.survey_id = @surveyId ORDER BY g.id DESC LIMIT 1000
            """, new { surveyId }))
            .Select(r => new ModeratedMessage(r.Id, r.Topic, r.Pseudonym ?? "", (int?)r.Round, r.Body, r.CreatedAt, r.HiddenAt is not null, r.HiddenReason))
            .ToList();
    }
}

public static class MessagesServices
{
    public static IServiceCollection AddMessages(this IServiceCollection services) => services.AddSingleton<MessagesService>();
}
