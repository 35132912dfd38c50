using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Mail;

/// <summary>
/// Writes the e-mails experts get into the outbox table and has the sender run. Every message has a key (kind,
/// round, member, ...) so that queuing it again, after a retry or a restart, adds nothing. Members whose link is
/// revoked get none.
/// </summary>
public sealed class Outbox(Db db, SurveyCatalog catalog, LinkVault vault, IBackgroundJobClient jobs, TimeProvider clock)
{
    // A class, not a positional record: with no row to read (every member revoked), SQLite reports the COALESCE
    // column as a blob, and Dapper then finds no constructor to match.
    sealed class Recipient
    {
        public long MemberId { get; init; }
        public string Name { get; init; } = "";
        public string Email { get; init; } = "";
        public string Language { get; init; } = "";
    }

    static Task<IEnumerable<Recipient>> RecipientsAsync(SqliteConnection c, long roundId, SqliteTransaction? tx = null) =>
        c.QueryAsync<Recipient>("""
            SELECT m.id AS MemberId, e.name AS Name, e.email AS Email, COALESCE(m.language, e.language) AS Language
            FROM round_members rm JOIN panel_members m ON m.id = rm.member_id JOIN experts e ON e.id = m.expert_id
            WHERE rm.round_id = @roundId AND m.revoked_at IS NULL ORDER BY m.id
            """, new { roundId }, tx);

    /// <summary>The survey's e-mails with their state, newest first.</summary>
    public async Task<List<OutboxEntry>> ListAsync(long surveyId, string? status)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<OutboxEntry>("""
            SELECT o.id, o.kind, r.number AS round, o.to_name, o.to_address, o.language, o.subject, o.status, o.attempts, o.last_error,
                   o.created_at, o.sent_at, o.next_attempt_at
            FROM outbox o LEFT JOIN rounds r ON r.id = o.round_id
            WHERE o.survey_id = @surveyId AND (@status IS NULL OR o.status = @status) ORDER BY o.id DESC
            """, new { surveyId, status });
        return rows.ToList();
    }

    /// <summary>Invitations to a round: to every member of it, or to the given members (who just joined the open round).</summary>
    /// <param name="linkBase">the address of the request that added the members; by default the one that opened the round</param>
    public async Task<int> InviteAsync(long roundId, IReadOnlyCollection<long>? members = null, string? linkBase = null)
    {
        await using var c = await db.OpenAsync();
        var round = (await RoundStore.ByIdAsync(c, roundId))!;
        var survey = await catalog.DefinitionAsync(round.SurveyId);
        var deadline = round.Deadline is { } d ? Db.FromIso(d) : (DateTimeOffset?)null;
        // Read first which members have theirs already, so that the minutely reconcile takes no write lock for nothing.
        var invited = (await c.QueryAsync<long>("SELECT member_id FROM outbox WHERE kind = 'invitation' AND round_id = @roundId", new { roundId })).ToHashSet();
        var recipients = (await RecipientsAsync(c, roundId)).Where(r => (members is null || members.Contains(r.MemberId)) && !invited.Contains(r.MemberId))
            .ToList();
        int queued = await QueueAsync(recipients.Select(r =>
        {
            var language = Language(survey, r.Language);
            var (subject, body) = MailTemplates.Invitation(language, r.Name, survey.Title.Get(language), round.Number, deadline);
            return new Message($"invitation:{roundId}:{r.MemberId}", "invitation", round.SurveyId, roundId, r, language, subject, body, null, linkBase
                ?? round.LinkBase);
        }));
        return queued;
    }

    /// <summary>A reminder to every member of the open round who has not finished; <paramref name="key"/> names which reminder.</summary>
    public async Task<int> RemindAsync(long roundId, string key)
    {
        await using var c = await db.OpenAsync();
        var round = (await RoundStore.ByIdAsync(c, roundId))!;
        if (!round.IsOpen || round.Deadline is null) return 0;
        var survey = await catalog.DefinitionAsync(round.SurveyId);
        var topics = await RoundStore.TopicsAsync(c, round.Id);
        var answers = await RoundStore.AnswersAsync(c, round.Id);
        var (_, _, finished) = await RoundProgress.MembersByProgressAsync(c, survey, round, topics, answers);
        var deadline = Db.FromIso(round.Deadline);
        var recipients = (await RecipientsAsync(c, roundId)).Where(r => !finished.Contains(r.MemberId)).ToList();
        return await QueueAsync(recipients.Select(r =>
        {
            var language = Language(survey, r.Language);
            var (subject, body) = MailTemplates.Reminder(language, r.Name, survey.Title.Get(language), round.Number, deadline);
            return new Message($"reminder:{roundId}:{key}:{r.MemberId}", "reminder", round.SurveyId, roundId, r, language, subject, body, null, round.LinkBase);
        }));
    }

    /// <summary>Thanks, with the report's link, to every member who answered the round; once per member and round.</summary>
    public async Task<int> ThankAsync(long surveyId, int roundNumber, string reportLink)
    {
        await using var c = await db.OpenAsync();
        var round = await RoundStore.RoundAsync(c, surveyId, roundNumber);
        if (round is null) return 0;
        var survey = await catalog.DefinitionAsync(surveyId);
        var answered = (await c.QueryAsync<long>("SELECT DISTINCT member_id FROM topic_answers WHERE round_id = @Id", new { round.Id })).ToHashSet();
        var recipients = (await RecipientsAsync(c, round.Id)).Where(r => answered.Contains(r.MemberId)).ToList();
        var link = vault.Protect(reportLink);
        return await QueueAsync(recipients.Select(r =>
        {
            var language = Language(survey, r.Language);
            var (subject, body) = MailTemplates.Thanks(language, r.Name, survey.Title.Get(language), round.Number);
            return new Message($"thanks:{round.Id}:{r.MemberId}", "thanks", surveyId, round.Id, r, language, subject, body, link, null);
        }));
    }

    public const string RevokedNote = "Not sent: the expert's link was revoked before this message went out.";

    /// <summary>A revoked member's messages that wait in the queue are cancelled, in the revocation's transaction.</summary>
    public static Task<int> CancelForRevokedAsync(SqliteConnection c, SqliteTransaction tx, long memberId) =>
        c.ExecuteAsync("UPDATE outbox SET status = 'cancelled', last_error = @RevokedNote WHERE member_id = @memberId AND status = 'queued'",
            new { memberId, RevokedNote }, tx);

    static string Language(SurveyDefinition survey, string preferred) => survey.Languages.Contains(preferred) ? preferred : survey.Languages[0];

    /// <param name="LinkProtected">the whole link, encrypted; null: the member's personal link</param>
    /// <param name="LinkBase">the personal link's base (scheme and host) when Foresight:PublicUrl is not set</param>
    sealed record Message(string Key, string Kind, long SurveyId, long? RoundId, Recipient To, string Language, string Subject, string Body,
        string? LinkProtected, string? LinkBase);

    async Task<int> QueueAsync(IEnumerable<Message> messages)
    {
        var list = messages.ToList();
        if (list.Count == 0) return 0;
        int queued = 0;
        var now = Db.Iso(clock.GetUtcNow());
        await using (var w = await db.BeginWriteAsync())
        {
            foreach (var m in list)
                queued += await w.Connection.ExecuteAsync("""
                    INSERT INTO outbox (dedupe_key, kind, survey_id, round_id, member_id, to_address, to_name, language, subject, body, link_protected,
                                        link_base, message_id, status, next_attempt_at, created_at)
                    VALUES (@Key, @Kind, @SurveyId, @RoundId, @MemberId, @Email, @Name, @Language, @Subject, @Body, @LinkProtected,
                            @LinkBase, @messageId, 'queued', @now, @now)
                    ON CONFLICT (dedupe_key) DO NOTHING
                    """, new
                    {
                        m.Key, m.Kind, m.SurveyId, m.RoundId, m.To.MemberId, m.To.Email, m.To.Name, m.Language, m.Subject, m.Body, m.LinkProtected, m.LinkBase,
                        messageId = $"{Guid.NewGuid():n}@foresight", now,
                    }, w.Transaction);
            await w.CommitAsync();
        }
        if (queued > 0) jobs.Enqueue<OutboxSender>(s => s.SendDueAsync(CancellationToken.None));
        return queued;
    }
}
