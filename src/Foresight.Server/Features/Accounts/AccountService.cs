using Dapper;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Accounts;

/// <summary>
/// Accounts: passwords (hashed with ASP.NET Core Identity's hasher), API tokens (only their hash is stored), the first
/// admin, disabling an account, and the audit log. Ending a token or an account is published as a change event, so
/// that cached credentials and open live connections end with it.
/// </summary>
public sealed class AccountService(Db db, TimeProvider clock, ChangeEvents changes, IOptions<ForesightOptions> options)
{
    static readonly PasswordHasher<object> Hasher = new();

    public static string HashPassword(string password) => Hasher.HashPassword(null!, password);

    public async Task<Outcome<SignInResponse>> SignInAsync(string email, string password)
    {
        var user = await VerifyAsync(email, password);
        if (user is null) return new Refusal(401, "Sign-in failed", "The e-mail or password is wrong, or the account is disabled.");
        await using var w = await db.BeginWriteAsync();
        var token = Secrets.NewUserToken();
        var now = clock.GetUtcNow();
        var expires = now.AddDays(options.Value.TokenLifetimeDays);
        await w.Connection.ExecuteAsync("INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES (@Id, @hash, @now, @expires)",
            new { user.Id, hash = Secrets.Hash(token), now = Db.Iso(now), expires = Db.Iso(expires) }, w.Transaction);
        await w.CommitAsync();
        return new SignInResponse(token, Db.Iso(expires), user);
    }

    /// <summary>The account for an e-mail and password, or null (wrong password, unknown or disabled account).</summary>
    public async Task<AccountView?> VerifyAsync(string email, string password)
    {
        await using var c = await db.OpenAsync();
        var user = await c.QuerySingleOrDefaultAsync<UserRow>("SELECT * FROM users WHERE email = @email", new { email = email.Trim().ToLowerInvariant() });
        bool ok = user is { DisabledAt: null } && Hasher.VerifyHashedPassword(null!, user.PasswordHash, password) != PasswordVerificationResult.Failed;
        return ok ? user!.View : null;
    }

    /// <summary>Ends an API token at once; an expert's invitation key is refused (it is their link, not a session).</summary>
    public async Task<Outcome<Done>> EndTokenAsync(string bearer)
    {
        if (!bearer.StartsWith(Secrets.UserTokenPrefix, StringComparison.Ordinal))
            return Refusal.BadRequest("An invitation key cannot be signed out: it is your personal link to the survey and keeps working until the " +
                "survey's coordinator renews or revokes it. To stop using it on this device, forget it; to end it, ask the coordinator.");
        var hash = Secrets.Hash(bearer);
        await using (var w = await db.BeginWriteAsync())
        {
            await w.Connection.ExecuteAsync("UPDATE api_tokens SET revoked_at = @now WHERE token_hash = @hash AND revoked_at IS NULL",
                new { now = Db.Iso(clock.GetUtcNow()), hash }, w.Transaction);
            await w.CommitAsync();
        }
        changes.Publish(new TokenAccessEnded(hash));
        return new Done();
    }

    public async Task<Me> MeAsync(long userId)
    {
        await using var c = await db.OpenAsync();
        var row = await c.QuerySingleAsync<UserRow>("SELECT * FROM users WHERE id = @userId", new { userId });
        return new Me(row.Role, row.View, null, null);
    }

    public async Task<Outcome<Done>> ChangePasswordAsync(long userId, PasswordChange body)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var row = await c.QuerySingleAsync<UserRow>("SELECT * FROM users WHERE id = @userId", new { userId }, tx);
        if (Hasher.VerifyHashedPassword(null!, row.PasswordHash, body.Current) == PasswordVerificationResult.Failed)
            return Refusal.BadRequest("The current password is wrong.");
        await c.ExecuteAsync("UPDATE users SET password_hash = @hash WHERE id = @userId", new { hash = HashPassword(body.New), userId }, tx);
        await tx.CommitAsync();
        return new Done();
    }

    public async Task<List<AccountView>> ListAsync()
    {
        await using var c = await db.OpenAsync();
        return (await c.QueryAsync<UserRow>("SELECT * FROM users ORDER BY id")).Select(u => u.View).ToList();
    }

    public async Task<Outcome<NewAccountResponse>> CreateAsync(NewAccountRequest body, long? adminId)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var email = body.Email.Trim().ToLowerInvariant();
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users WHERE email = @email", new { email }, tx) > 0)
            return Refusal.Conflict($"An account with e-mail '{email}' exists already.");
        var generated = body.Password is null ? Secrets.NewPassword() : null;
        var id = await c.ExecuteScalarAsync<long>("""
            INSERT INTO users (email, name, role, password_hash, created_at) VALUES (@email, @Name, @Role, @hash, @now) RETURNING id
            """, new { email, Name = body.Name.Trim(), body.Role, hash = HashPassword(body.Password ?? generated!), now = Db.Iso(clock.GetUtcNow()) }, tx);
        await Audit.LogAsync(c, tx, clock, adminId, null, "account.created", new { email, body.Role });
        var row = await c.QuerySingleAsync<UserRow>("SELECT * FROM users WHERE id = @id", new { id }, tx);
        await tx.CommitAsync();
        return new NewAccountResponse(row.View, generated);
    }

    public async Task<Outcome<Done>> DisableAsync(long id, long? adminId)
    {
        if (adminId == id) return Refusal.BadRequest("You cannot disable your own account.");
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var now = Db.Iso(clock.GetUtcNow());
        var n = await c.ExecuteAsync("UPDATE users SET disabled_at = @now WHERE id = @id AND disabled_at IS NULL", new { id, now }, tx);
        if (n == 0) return Refusal.NotFound($"There is no enabled account {id}.");
        await c.ExecuteAsync("UPDATE api_tokens SET revoked_at = @now WHERE user_id = @id AND revoked_at IS NULL", new { id, now }, tx);
        await Audit.LogAsync(c, tx, clock, adminId, null, "account.disabled", new { id });
        await tx.CommitAsync();
        changes.Publish(new UserAccessEnded(id, null));
        return new Done();
    }

    /// <summary>The newest audit entries; survey by id or slug, action by prefix ("round." for opened and closed), user by e-mail.</summary>
    public async Task<List<AuditEntry>> AuditAsync(string? survey, string? action, string? user, int limit)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<AuditEntry>("""
            SELECT a.id, a.at, u.email AS user, s.slug AS survey, a.action, a.detail
            FROM audit_log a LEFT JOIN users u ON u.id = a.user_id LEFT JOIN surveys s ON s.id = a.survey_id
            WHERE (@survey IS NULL OR s.slug = @survey OR CAST(s.id AS TEXT) = @survey)
              AND (@action IS NULL OR a.action = @action OR a.action LIKE @actionPrefix ESCAPE '\')
              AND (@user IS NULL OR u.email = @user)
            ORDER BY a.id DESC LIMIT @limit
            """, new
        {
            survey = Blank(survey), action = Blank(action), user = Blank(user)?.ToLowerInvariant(),
            actionPrefix = Blank(action) is { } a ? a.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_").TrimEnd('.') + ".%" : null,
            limit = Math.Clamp(limit, 1, 5000),
        });
        return rows.ToList();
    }

    /// <summary>The first admin account, when there is no account yet; returns the line start-up prints about it.</summary>
    public async Task<IEnumerable<string>> EnsureAdminAsync(ILogger logger)
    {
        var admin = options.Value.Admin;
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users", null, tx) > 0) return [];
        var password = string.IsNullOrEmpty(admin.Password) ? Secrets.NewPassword() : admin.Password;
        await c.ExecuteAsync("INSERT INTO users (email, name, role, password_hash, created_at) VALUES (@email, @name, 'admin', @hash, @now)",
            new { email = admin.Email.ToLowerInvariant(), name = admin.Name, hash = HashPassword(password), now = Db.Iso(clock.GetUtcNow()) }, tx);
        await tx.CommitAsync();
        logger.LogInformation("Created the admin account {Email}", admin.Email);
        return [string.IsNullOrEmpty(admin.Password)
            ? $"Admin sign-in:   {admin.Email} / {password}   (one-time password, shown only now)"
            : $"Admin sign-in:   {admin.Email} (password from configuration)"];
    }

    static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    sealed class UserRow
    {
        public long Id { get; init; }
        public string Email { get; init; } = "";
        public string Name { get; init; } = "";
        public string Role { get; init; } = "";
        public string PasswordHash { get; init; } = "";
        public string CreatedAt { get; init; } = "";
        public string? DisabledAt { get; init; }
        public AccountView View => new(Id, Email, Name, Role, CreatedAt, DisabledAt is not null);
    }
}
