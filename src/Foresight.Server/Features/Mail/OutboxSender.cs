using Dapper;
using Foresight.Server.Features.Panel;
using Foresight.Server.Plumbing;
using Hangfire;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Foresight.Server.Features.Mail;

public sealed class OutboxRow
{
    public long Id { get; init; }
    public string Kind { get; init; } = "";
    public long? MemberId { get; init; }
    public string ToAddress { get; init; } = "";
    public string ToName { get; init; } = "";
    public string Subject { get; init; } = "";
    public string Body { get; init; } = "";
    public string? LinkProtected { get; init; }
    public string MessageId { get; init; } = "";
    public int Attempts { get; init; }
}

/// <summary>
/// Sends what the outbox holds over SMTP (MailKit). A message is marked 'sending' before it goes and 'sent' right
/// after the server accepts it, so a sent message is never sent again. One that was 'sending' when the process died
/// is tried again after a while with the same Message-ID: the only way to a duplicate is a crash between the SMTP
/// server's acceptance and our commit, and then the receiving side can tell.
/// </summary>
public sealed class OutboxSender(
    Db db, LinkVault vault, IOptions<MailOptions> mailOptions, IOptions<ForesightOptions> options, ILogger<OutboxSender> log)
{
    // One sending pass at a time in this server; a pass that finds another running leaves the work to it.
    readonly SemaphoreSlim _oneAtATime = new(1, 1);
    static readonly TimeSpan StaleSending = TimeSpan.FromMinutes(10);

    /// <summary>The job: sends every message that is due. Safe to run twice or at once (the second waits and finds nothing due).</summary>
    [AutomaticRetry(Attempts = 0)]
    public async Task<int> SendDueAsync()
    {
        var mail = mailOptions.Value;
        if (string.IsNullOrEmpty(mail.Host)) { log.LogInformation("No SMTP host configured (Foresight:Mail:Host): e-mails wait in the outbox"); return 0; }
        if (!await _oneAtATime.WaitAsync(TimeSpan.FromSeconds(30))) { log.LogWarning("Outbox pass skipped: another pass is still running"); return 0; }
        try
        {
            int sent = 0;
            // Short waits (a refused message's first retries) are waited out within the pass; longer ones are left to
            // the next pass (the minutely reconcile job starts one).
            for (int round = 0; round < 10; round++)
            {
                sent += await SendWhatIsDueAsync(mail);
                var next = await NextAttemptAsync();
                var wait = next - DateTimeOffset.UtcNow;
                if (next is null || wait > InPassWait) break;
                await Task.Delay((wait > TimeSpan.Zero ? wait.Value : TimeSpan.Zero) + TimeSpan.FromMilliseconds(50));
            }
            return sent;
        }
        finally { _oneAtATime.Release(); }
    }

    static readonly TimeSpan InPassWait = TimeSpan.FromSeconds(20);

    /// <summary>Sends due messages until none is due or one fails (then the server is left alone until its retry time).</summary>
    async Task<int> SendWhatIsDueAsync(MailOptions mail)
    {
        int sent = 0;
        SmtpClient? smtp = null;
        try
        {
            while (await ClaimAsync() is { } message)
            {
                try
                {
                    if (smtp is not { IsConnected: true }) smtp = await ConnectAsync(mail);
                    await smtp.SendAsync(await ComposeAsync(mail, message));
                    await MarkAsync(message.Id, "sent", null, null);
                    sent++;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    var attempts = message.Attempts + 1;
                    var status = attempts >= mail.MaxAttempts ? "failed" : "queued";
                    log.LogWarning(e, "Sending e-mail {Id} ({Kind}) failed (attempt {Attempts})", message.Id, message.Kind, attempts);
                    var error = e is SmtpCommandException refused ? $"{(int)refused.StatusCode} {refused.Message}" : e.Message;
                    await MarkAsync(message.Id, status, error, DateTimeOffset.UtcNow + mail.Backoff(attempts));
                    smtp?.Dispose();
                    smtp = null;
                    break;
                }
            }
        }
        finally
        {
            if (smtp is { IsConnected: true }) await smtp.DisconnectAsync(true);
            smtp?.Dispose();
        }
        return sent;
    }

    async Task<DateTimeOffset?> NextAttemptAsync()
    {
        await using var c = await db.OpenAsync();
        var next = await c.ExecuteScalarAsync<string?>("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'queued'");
        return next is null ? null : DateTimeOffset.Parse(next, System.Globalization.CultureInfo.InvariantCulture);
    }

    static async Task<SmtpClient> ConnectAsync(MailOptions mail)
    {
        var smtp = new SmtpClient { Timeout = 30_000 };
        await smtp.ConnectAsync(mail.Host!, mail.Port, Enum.Parse<SecureSocketOptions>(mail.Security, ignoreCase: true));
        if (!string.IsNullOrEmpty(mail.Username)) await smtp.AuthenticateAsync(mail.Username, mail.Password ?? "");
        return smtp;
    }

    async Task<MimeMessage> ComposeAsync(MailOptions mail, OutboxRow row)
    {
        var link = row.LinkProtected is { } stored ? vault.Unprotect(stored) : await MemberLinkAsync(row.MemberId);
        if (link is null) throw new InvalidOperationException("The link for this message cannot be read back (no stored link, or data-protection keys changed); renew the member's link.");
        var message = new MimeMessage { Subject = row.Subject, MessageId = row.MessageId };
        message.From.Add(MailboxAddress.Parse(mail.From));
        message.To.Add(new MailboxAddress(row.ToName, row.ToAddress));
        message.Body = new TextPart("plain") { Text = row.Body.Replace(MailTemplates.LinkPlaceholder, link) };
        return message;
    }

    async Task<string?> MemberLinkAsync(long? memberId)
    {
        if (memberId is null) return null;
        await using var c = await db.OpenAsync();
        var stored = await c.QuerySingleOrDefaultAsync<string?>("SELECT link_protected FROM panel_members WHERE id = @memberId AND revoked_at IS NULL", new { memberId });
        var secret = stored is null ? null : vault.Unprotect(stored);
        return secret is null ? null : PanelEndpoints.Link((options.Value.PublicUrl ?? "http://localhost:5000").TrimEnd('/'), secret);
    }

    /// <summary>Takes the next due message (or a stale 'sending' one) and marks it 'sending'.</summary>
    async Task<OutboxRow?> ClaimAsync()
    {
        var now = DateTimeOffset.UtcNow;
        await using var w = await db.BeginWriteAsync();
        var row = await w.Connection.QuerySingleOrDefaultAsync<OutboxRow>("""
            SELECT id, kind, member_id, to_address, to_name, subject, body, link_protected, message_id, attempts FROM outbox
            WHERE status = 'queued' AND next_attempt_at <= @now OR status = 'sending' AND next_attempt_at <= @stale
            ORDER BY id LIMIT 1
            """, new { now = Db.Iso(now), stale = Db.Iso(now - StaleSending) }, w.Transaction);
        if (row is null) return null;
        await w.Connection.ExecuteAsync("UPDATE outbox SET status = 'sending', next_attempt_at = @now WHERE id = @Id", new { now = Db.Iso(now), row.Id }, w.Transaction);
        await w.CommitAsync();
        return row;
    }

    async Task MarkAsync(long id, string status, string? error, DateTimeOffset? next)
    {
        await using var w = await db.BeginWriteAsync();
        await w.Connection.ExecuteAsync("""
            UPDATE outbox SET status = @status, last_error = COALESCE(@error, last_error),
                attempts = attempts + 1,
                sent_at = CASE WHEN @status = 'sent' THEN @now ELSE sent_at END,
                next_attempt_at = COALESCE(@next, next_attempt_at)
            WHERE id = @id
            """, new { id, status, error, now = Db.Iso(DateTimeOffset.UtcNow), next = next is { } n ? Db.Iso(n) : null }, w.Transaction);
        await w.CommitAsync();
    }
}
