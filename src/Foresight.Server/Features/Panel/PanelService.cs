using System.Security.Claims;
using Dapper;
using Foresight.Server.Features.Experts;
using Foresight.Server.Features.Mail;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Panel;

/// <summary>A survey's panel: which experts answer it, which fields each answers, and their invitation links.</summary>
public sealed class PanelService(Db db, TimeProvider clock, ChangeEvents changes, LinkVault vault, IBackgroundJobClient jobs)
{
    public async Task<List<MemberView>> ListAsync(SurveyRef survey)
    {
        await using var c = await db.OpenAsync();
        return await MembersAsync(c, survey.Id);
    }

    public static async Task<List<MemberView>> MembersAsync(SqliteConnection c, long surveyId, SqliteTransaction? tx = null)
    {
        var rows = await c.QueryAsync<(long Id, long ExpertId, string Name, string Email, string? OrgType, string? Region, string Pseudonym, string JoinedAt,
            string? RevokedAt, string SecretIssuedAt)>("""
            SELECT m.id, m.expert_id, e.name, e.email, e.org_type, e.region, m.pseudonym, m.joined_at, m.revoked_at, m.secret_issued_at
            FROM panel_members m JOIN experts e ON e.id = m.expert_id WHERE m.survey_id = @surveyId ORDER BY m.id
            """, new { surveyId }, tx);
        var fields = (await c.QueryAsync<(long MemberId, string Code)>("""
            SELECT pf.member_id, f.code FROM panel_fields pf JOIN fields f ON f.id = pf.field_id
            WHERE f.survey_id = @surveyId ORDER BY f.position
            """, new { surveyId }, tx)).ToLookup(x => x.MemberId, x => x.Code);
        return rows.Select(r => new MemberView(r.Id, r.ExpertId, r.Name, r.Email, r.OrgType, r.Region, r.Pseudonym,
            fields[r.Id].ToList(), r.JoinedAt, r.RevokedAt is not null, r.SecretIssuedAt)).ToList();
    }

    /// <summary>Adds experts to the panel, each with a pseudonym and a new link (returned once); members who join an open round are invited at once.</summary>
    public async Task<Outcome<List<Invitation>>> AddAsync(SurveyRef survey, PanelRequest body, ClaimsPrincipal user, string baseUrl)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var fieldIds = (await SurveyStore.FieldsAsync(c, survey.Id, tx)).ToDictionary(f => f.Code, f => f.Id, StringComparer.OrdinalIgnoreCase);
        var errors = new List<string>();
        var planned = new List<(long ExpertId, string Name, List<string> Fields)>();
        for (int i = 0; i < body.Members.Count; i++)
        {
            var m = body.Members[i];
            // By id: only an expert the caller may see. By e-mail: any expert of the pool, whose address the caller knows
            // already (an expert shared with another agency's survey); their details are not changed.
            var expert = await c.QuerySingleOrDefaultAsync<(long Id, string Name, string Expertise)>($"""
                SELECT e.id, e.name, e.expertise FROM experts e
                WHERE (e.id = @id AND {ExpertAccess.Visible}) OR (@id IS NULL AND e.email = @email)
                """, ExpertAccess.Parameters(user, new { id = m.ExpertId, email = m.Email?.Trim().ToLowerInvariant() }), tx);
            if (expert.Id == 0) { errors.Add(m.ExpertId is { } missing
                ? $"members[{i}]: no expert {missing} in your pool" : $"members[{i}]: no expert with e-mail {m.Email} in the pool"); continue; }
            var codes = m.Fields?.ToList()
                ?? expert.Expertise.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(fieldIds.ContainsKey).ToList();
            if (codes.Count == 0) { errors.Add($"members[{i}]: say which fields {expert.Name} answers (fields: [...]); their expertise names none of " +
                $"{string.Join(", ", fieldIds.Keys)}"); continue; }
            foreach (var bad in codes.Where(code => !fieldIds.ContainsKey(code))) errors.Add($"members[{i}]: survey '{survey.Slug}' has no field '{bad}'");
            if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM panel_members WHERE survey_id = @s AND expert_id = @e",
                new { s = survey.Id, e = expert.Id }, tx) > 0)
                errors.Add($"members[{i}]: {expert.Name} (expert {expert.Id}) is on the panel already; renew their link or change their fields instead");
            if (planned.Any(p => p.ExpertId == expert.Id)) errors.Add($"members[{i}]: {expert.Name} is listed twice");
            // Unknown codes are reported above; the plan (never carried out then) keeps the known ones in the survey's spelling.
            planned.Add((expert.Id, expert.Name, codes.Where(fieldIds.ContainsKey)
                .Select(code => fieldIds.Keys.First(k => k.Equals(code, StringComparison.OrdinalIgnoreCase))).Distinct().ToList()));
        }
        if (errors.Count > 0) return Refusal.BadRequest(errors[0] + (errors.Count > 1 ? $" (and {errors.Count - 1} more)" : "") + ". Nobody was added.",
            errors);

        var openRound = await c.ExecuteScalarAsync<long?>("SELECT id FROM rounds WHERE survey_id = @Id AND status = 'open'", new { survey.Id }, tx);
        var invitations = new List<Invitation>();
        foreach (var p in planned)
        {
            var secret = Secrets.New();
            var memberId = await InsertMemberAsync(c, tx, survey.Id, p.ExpertId, secret, vault, clock);
            foreach (var code in p.Fields)
                await c.ExecuteAsync("INSERT INTO panel_fields (member_id, field_id) VALUES (@memberId, @fieldId)", new { memberId, fieldId = fieldIds[code] },
                    tx);
            if (openRound is not null)
                await c.ExecuteAsync("INSERT INTO round_members (round_id, member_id) VALUES (@openRound, @memberId)", new { openRound, memberId }, tx);
            var pseudonym = await c.QuerySingleAsync<string>("SELECT pseudonym FROM panel_members WHERE id = @memberId", new { memberId }, tx);
            invitations.Add(new Invitation(memberId, p.ExpertId, p.Name, pseudonym, p.Fields, Links.Invitation(baseUrl, secret), secret));
        }
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "panel.added", new { experts = planned.Select(p => p.ExpertId) });
        await tx.CommitAsync();
        var members = invitations.Select(i => i.MemberId).ToList();
        changes.Publish(new PanelChanged(survey.Id, members));
        // Joining an open round: the new members are invited by e-mail at once (a job, so that no write waits on it),
        // with links to this request's address, as the links in the answer.
        if (openRound is not null) jobs.Enqueue<Outbox>(o => o.InviteAsync(openRound.Value, members, baseUrl));
        return invitations;
    }

    /// <summary>Adds a panel member with a fresh pseudonym (unique within the survey).</summary>
    public static async Task<long> InsertMemberAsync(SqliteConnection c, SqliteTransaction tx, long surveyId, long expertId, string secret, LinkVault vault,
        TimeProvider clock)
    {
        var now = Db.Iso(clock.GetUtcNow());
        for (int attempt = 0; ; attempt++)
        {
            var pseudonym = Secrets.NewPseudonym();
            if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM panel_members WHERE survey_id = @surveyId AND pseudonym = @pseudonym",
                new { surveyId, pseudonym }, tx) > 0)
                continue;
            return await c.ExecuteScalarAsync<long>("""
                INSERT INTO panel_members (survey_id, expert_id, pseudonym, secret_hash, link_protected, secret_issued_at, joined_at)
                VALUES (@surveyId, @expertId, @pseudonym, @hash, @link, @now, @now) RETURNING id
                """, new { surveyId, expertId, pseudonym, hash = Secrets.Hash(secret), link = vault.Protect(secret), now }, tx);
        }
    }

    public async Task<Outcome<MemberView>> SetFieldsAsync(SurveyRef survey, long member, FieldsRequest body, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM panel_members WHERE id = @member AND survey_id = @Id", new { member, survey.Id }, tx) == 0)
            return Refusal.NotFound($"Survey '{survey.Slug}' has no panel member {member}.");
        var fields = (await SurveyStore.FieldsAsync(c, survey.Id, tx)).ToDictionary(f => f.Code, f => f.Id, StringComparer.OrdinalIgnoreCase);
        var bad = body.Fields.Where(f => !fields.ContainsKey(f)).ToList();
        if (bad.Count > 0)
            return Refusal.BadRequest($"Survey '{survey.Slug}' has no field {string.Join(", ", bad)}; its fields are {string.Join(", ", fields.Keys)}.");
        await c.ExecuteAsync("DELETE FROM panel_fields WHERE member_id = @member", new { member }, tx);
        foreach (var code in body.Fields.Distinct(StringComparer.OrdinalIgnoreCase))
            await c.ExecuteAsync("INSERT INTO panel_fields (member_id, field_id) VALUES (@member, @f)", new { member, f = fields[code] }, tx);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "panel.fields_changed", new { member, body.Fields });
        await tx.CommitAsync();
        changes.Publish(new PanelChanged(survey.Id, [member]));
        return (await MembersAsync(c, survey.Id)).Single(m => m.Id == member);
    }

    /// <summary>A new link for a member (returned once); the old one, and every session and live connection made with it, ends.</summary>
    public async Task<Outcome<Invitation>> RenewAsync(SurveyRef survey, long member, ClaimsPrincipal user, string baseUrl)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var secret = Secrets.New();
        var now = Db.Iso(clock.GetUtcNow());
        var n = await c.ExecuteAsync("""
            UPDATE panel_members SET secret_hash = @hash, link_protected = @link, secret_issued_at = @now, revoked_at = NULL
                WHERE id = @member AND survey_id = @Id
            """, new { hash = Secrets.Hash(secret), link = vault.Protect(secret), now, member, survey.Id }, tx);
        if (n == 0) return Refusal.NotFound($"Survey '{survey.Slug}' has no panel member {member}.");
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "panel.link_renewed", new { member });
        var m = (await MembersAsync(c, survey.Id, tx)).Single(x => x.Id == member);
        await tx.CommitAsync();
        changes.Publish(new MemberAccessEnded(member));
        changes.Publish(new PanelChanged(survey.Id, [member]));
        return new Invitation(m.Id, m.ExpertId, m.Name, m.Pseudonym, m.Fields, Links.Invitation(baseUrl, secret), secret);
    }

    /// <summary>Ends a member's link: their sessions and live connections end, and e-mail still to send them is cancelled.</summary>
    public async Task<Outcome<Done>> RevokeAsync(SurveyRef survey, long member, ClaimsPrincipal user)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var n = await c.ExecuteAsync("UPDATE panel_members SET revoked_at = @now WHERE id = @member AND survey_id = @Id AND revoked_at IS NULL",
            new { now = Db.Iso(clock.GetUtcNow()), member, survey.Id }, tx);
        if (n == 0) return Refusal.NotFound($"Survey '{survey.Slug}' has no panel member {member} with a valid link.");
        await Outbox.CancelForRevokedAsync(c, tx, member);
        await Audit.LogAsync(c, tx, clock, user.UserId(), survey.Id, "panel.link_revoked", new { member });
        await tx.CommitAsync();
        changes.Publish(new MemberAccessEnded(member));
        changes.Publish(new PanelChanged(survey.Id, [member]));
        return new Done();
    }
}
