using Dapper;
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
    public string? LinkBase { get; init; }
    public string MessageId { get; init; } = "";
    public int Attempts { get; init; }
}

/// <summary>
/// Sends what the outbox holds over SMTP (MailKit); the SMTP server gets each message at most once. A sender claims a
/// message by marking it 'sending' in one statement, so no two senders (in this process or in another on the same
/// database) take the same one, and marks it 'sent' as soon as the server accepts it. A refusal, or a failure before
/// the server was handed the message, puts it back in the queue for a later attempt (with the same Message-ID). A
/// failure while the server was taking it (the connection lost before its answer), or a sender that stopped for good
/// while a message was 'sending' (the process killed), leaves the message 'interrupted': it may have been
/// delivered, so it is not sent again by itself. A message to an expert whose link was revoked is cancelled, not sent.
/// </summary>
public sealed class OutboxSender(
    Db db, LinkVault vault, IOptions<MailOptions> mailOptions, IOptions<ForesightOptions> options, TimeProvider clock, ILogger<OutboxSender> log)
{
    // One sending pass at a time in this server; a pass that finds another running leaves the work to it.
    readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <summary>
    /// A message 'sending' this long has lost its sender: one message takes seconds (MailKit gives up on a silent
    /// server after 30 s), and a server that is stopping takes no further message.
    /// </summary>
    public static readonly TimeSpan StaleSending = TimeSpan.FromMinutes(10);

    public const string InterruptedByStop =
        "The server stopped while this message was being handed to the mail server, so it may have been delivered. " +
        "It is not sent again by itself, so that nobody gets it twice; ask the recipient whether it arrived.";

    /// <summary>
    /// The job: sends every message that is due. Safe to run twice or at once (the second waits and finds nothing due).
    /// Hangfire passes its shutdown token: a stopping server sends no further message after the one it is sending.
    /// </summary>
    [AutomaticRetry(Attempts = 0)]
    public async Task<int> SendDueAsync(CancellationToken stopping = default)
    {
        var mail = mailOptions.Value;
        if (string.IsNullOrEmpty(mail.Host)) { log.LogInformation("No SMTP host configured (Foresight:Mail:Host): e-mails wait in the outbox"); return 0; }
        if (!await _oneAtATime.WaitAsync(TimeSpan.FromSeconds(30),
            stopping)) { log.LogWarning("Outbox pass skipped: another pass is still running"); return 0; }
        int sent = 0;
        try
        {
            await GiveUpStaleAsync();
            // Short waits (a refused message's first retries) are waited out within the pass; longer ones are left to
            // the next pass (the minutely reconcile job starts one).
            for (int round = 0; round < 10 && !stopping.IsCancellationRequested; round++)
            {
                sent += await SendWhatIsDueAsync(mail, stopping);
                var next = await NextAttemptAsync();
                var wait = next - clock.GetUtcNow();
                if (next is null || wait > InPassWait) break;
                await Task.Delay((wait > TimeSpan.Zero ? wait.Value : TimeSpan.Zero) + TimeSpan.FromMilliseconds(50), clock, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
        finally { _oneAtATime.Release(); }
        return sent;
    }

    static readonly TimeSpan InPassWait = TimeSpan.FromSeconds(20);

    /// <summary>Sends due messages until none is due or one fails (then the server is left alone until its retry time).</summary>
    async Task<int> SendWhatIsDueAsync(MailOptions mail, CancellationToken stopping)
    {
        int sent = 0;
        HandoverClient? smtp = null;
        try
        {
            while (!stopping.IsCancellationRequested && await ClaimAsync() is { } message)
            {
                if (smtp is not null) smtp.HandedOver = false;
                try
                {
                    if (await ComposeAsync(mail, message) is not { } mime)
                    {
                        // Revoked after it was queued (the revocation cancels queued messages; this one was being taken).
                        log.LogInformation("E-mail {Id} ({Kind}) not sent: the expert's link was revoked", message.Id, message.Kind);
                        await CancelAsync(message.Id);
                        continue;
                    }
                    if (smtp is not { IsConnected: true }) smtp = await ConnectAsync(mail);
                    await smtp.SendAsync(mime);
                }
                catch (Exception e) when (smtp is { HandedOver: true } && e is not SmtpCommandException)
                {
                    // The server had the recipients and was taking the message when the connection failed: it may
                    // have kept it. Sending it again could deliver it twice.
                    log.LogWarning(
                        "E-mail {Id} ({Kind}) may have been delivered: the connection failed while the mail server was taking it ({Error}); it is not sent " +
                        "again",
                        message.Id, message.Kind, e.Message);
                    await MarkAsync(message.Id, "interrupted",
                        $"The connection to the mail server failed while it was taking this message ({e.Message}), so it may have been delivered. " +
                        "It is not sent again by itself, so that nobody gets it twice; ask the recipient whether it arrived.", null);
                    smtp.Dispose();
                    smtp = null;
                    break;
                }
                catch (Exception e)
                {
                    // Refused, or never handed over: safe to try again later.
                    var attempts = message.Attempts + 1;
                    var status = attempts >= mail.MaxAttempts ? "failed" : "queued";
                    var error = e is SmtpCommandException refused ? $"{(int)refused.StatusCode} {refused.Message}" : e.Message;
                    if (Expected(e)) log.LogWarning("Sending e-mail {Id} ({Kind}) failed (attempt {Attempts}): {Error}", message.Id, message.Kind, attempts,
                        error);
                    else log.LogWarning(e, "Sending e-mail {Id} ({Kind}) failed (attempt {Attempts})", message.Id, message.Kind, attempts);
                    await MarkAsync(message.Id, status, error, clock.GetUtcNow() + mail.Backoff(attempts));
                    smtp?.Dispose();
                    smtp = null;
                    break;
                }
                // Accepted: from here on the message is never sent again. Should this mark fail, it stays 'sending'
                // and becomes 'interrupted' (GiveUpStaleAsync), which is what a crash at this point leaves too.
                await MarkAsync(message.Id, "sent", null, null);
                sent++;
            }
        }
        finally
        {
            if (smtp is { IsConnected: true }) await smtp.DisconnectAsync(true);
            smtp?.Dispose();
        }
        return sent;
    }

    /// <summary>Failures of the mail server or the network, which the log names without a stack trace.</summary>
    static bool Expected(Exception e) => e is SmtpCommandException or MailKit.ProtocolException or MailKit.ServiceNotConnectedException or IOException
        or System.Net.Sockets.SocketException or TimeoutException or AuthenticationException or SslHandshakeException or MessageLinkException;

    /// <summary>The message's link cannot be made (see <see cref="ComposeAsync"/>).</summary>
    sealed class MessageLinkException(string message) : Exception(message);

    /// <summary>MailKit's client, noting when the message being sent reached the server: its recipients were accepted and its content follows.</summary>
    sealed class HandoverClient : SmtpClient
    {
        public bool HandedOver { get; set; }

        protected override void OnRecipientAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
        {
            HandedOver = true;
            base.OnRecipientAccepted(message, mailbox, response);
        }
    }

    /// <summary>
    /// Messages left 'sending' by a sender that is gone (the process was killed, or could not record the result): the
    /// SMTP server may have taken them, so they become 'interrupted' instead of being sent again.
    /// </summary>
    async Task GiveUpStaleAsync()
    {
        int n;
        await using (var w = await db.BeginWriteAsync())
        {
            n = await w.Connection.ExecuteAsync(
                "UPDATE outbox SET status = 'interrupted', last_error = @InterruptedByStop WHERE status = 'sending' AND next_attempt_at <= @stale",
                new { InterruptedByStop, stale = Db.Iso(clock.GetUtcNow() - StaleSending) }, w.Transaction);
            await w.CommitAsync();
        }
        if (n > 0)
            log.LogWarning(
                "{Count} e-mails were left 'sending' by a server that stopped; they may have been delivered and are marked 'interrupted', not sent again", n);
    }

    async Task<DateTimeOffset?> NextAttemptAsync()
    {
        await using var c = await db.OpenAsync();
        var next = await c.ExecuteScalarAsync<string?>("SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'queued'");
        return next is null ? null : Db.FromIso(next);
    }

    static async Task<HandoverClient> ConnectAsync(MailOptions mail)
    {
        var smtp = new HandoverClient { Timeout = 30_000 };
        await smtp.ConnectAsync(mail.Host!, mail.Port, Enum.Parse<SecureSocketOptions>(mail.Security, ignoreCase: true));
        if (!string.IsNullOrEmpty(mail.Username)) await smtp.AuthenticateAsync(mail.Username, mail.Password ?? "");
        return smtp;
    }

    /// <returns>null when the message is not to go: its recipient's link has been revoked</returns>
    async Task<MimeMessage?> ComposeAsync(MailOptions mail, OutboxRow row)
    {
        string? memberLink = null;
        if (row.MemberId is { } memberId)
        {
            await using var c = await db.OpenAsync();
            var member = await c.QuerySingleOrDefaultAsync<(string? RevokedAt, string? LinkProtected)>(
                "SELECT revoked_at, link_protected FROM panel_members WHERE id = @memberId", new { memberId });
            if (member.RevokedAt is not null) return null;
            if (row.LinkProtected is null)
            {
                // The configured address, or else the one the coordinator's request came to (kept with the message).
                var baseUrl = options.Value.PublicBase ?? row.LinkBase ?? throw new MessageLinkException(
                    "The address for the expert's link is unknown: set Foresight:PublicUrl (this message was queued before the server kept the coordinator's " +
                    "address).");
                if (member.LinkProtected is { } protectedLink && vault.Unprotect(protectedLink) is { } secret)
                    memberLink = Links.Invitation(baseUrl, secret);
            }
        }
        var link = row.LinkProtected is { } stored ? vault.Unprotect(stored) : memberLink;
        if (link is null)
            throw new MessageLinkException(
                "The link for this message cannot be read back (no stored link, or data-protection keys changed); renew the member's link.");
        var message = new MimeMessage { Subject = row.Subject, MessageId = row.MessageId };
        message.From.Add(MailboxAddress.Parse(mail.From));
        message.To.Add(new MailboxAddress(row.ToName, row.ToAddress));
        message.Body = new TextPart("plain") { Text = row.Body.Replace(MailTemplates.LinkPlaceholder, link) };
        return message;
    }

    /// <summary>
    /// Takes the next due message and marks it 'sending' (next_attempt_at: when), in one statement: no other sender,
    /// here or in another process on the same database, can take it too.
    /// </summary>
    async Task<OutboxRow?> ClaimAsync()
    {
        var now = Db.Iso(clock.GetUtcNow());
        await using var w = await db.BeginWriteAsync();
        var row = await w.Connection.QuerySingleOrDefaultAsync<OutboxRow>("""
            UPDATE outbox SET status = 'sending', next_attempt_at = @now
            WHERE id = (SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= @now ORDER BY id LIMIT 1) AND status = 'queued'
            RETURNING id, kind, member_id, to_address, to_name, subject, body, link_protected, link_base, message_id, attempts
            """, new { now }, w.Transaction);
        await w.CommitAsync();
        return row;
    }

    async Task CancelAsync(long id)
    {
        await using var w = await db.BeginWriteAsync();
        await w.Connection.ExecuteAsync("UPDATE outbox SET status = 'cancelled', last_error = @RevokedNote WHERE id = @id", new { id, Outbox.RevokedNote },
            w.Transaction);
        await w.CommitAsync();
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
            """, new { id, status, error, now = Db.Iso(clock.GetUtcNow()), next = next is { } n ? Db.Iso(n) : null }, w.Transaction);
        await w.CommitAsync();
    }
}
