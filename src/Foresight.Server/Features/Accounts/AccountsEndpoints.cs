using System.Security.Claims;
using Dapper;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Accounts;

public sealed record SignInRequest(string Email, string Password) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Email)) yield return "email is required";
        if (string.IsNullOrEmpty(Password)) yield return "password is required";
    }
}

public sealed record AccountView(long Id, string Email, string Name, string Role, string CreatedAt, bool Disabled);

public sealed record SignInResponse(string Token, string ExpiresAt, AccountView Account);

public sealed record Me(string Kind, AccountView? Account, long? SurveyId, string? Pseudonym);

public sealed record NewAccountRequest(string Email, string Name, string Role, string? Password) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Email) || !Email.Contains('@')) yield return "email must be an e-mail address";
        if (string.IsNullOrWhiteSpace(Name)) yield return "name is required";
        if (Role is not (Roles.Admin or Roles.Coordinator or Roles.Stakeholder)) yield return "role must be admin, coordinator or stakeholder";
        if (Password is { Length: < 10 }) yield return "a password needs at least 10 characters (leave it out to have one generated)";
    }
}

public sealed record NewAccountResponse(AccountView Account, string? GeneratedPassword);

public sealed record PasswordChange(string Current, string New) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrEmpty(Current)) yield return "current is required";
        if (New is not { Length: >= 10 }) yield return "the new password needs at least 10 characters";
    }
}

public sealed record AuditEntry(long Id, string At, string? User, string? Survey, string Action, string? Detail);

/// <summary>Accounts of admins, coordinators and stakeholders: sign-in (token and cookie), the admin's account list, the audit log.</summary>
public static class AccountsEndpoints
{
    static readonly PasswordHasher<object> Hasher = new();

    public static string HashPassword(string password) => Hasher.HashPassword(null!, password);

    public static void MapAccounts(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").WithTags("Accounts");
        auth.MapPost("/signin", SignIn).Validate<SignInRequest>().RequireRateLimiting(RateLimits.SignIn)
            .WithSummary("Sign in with e-mail and password: returns a bearer token and sets a session cookie");
        auth.MapPost("/signout", SignOut).RequireAuthorization()
            .WithSummary("End the session cookie and the API token the request carries (an expert's invitation key cannot be signed out: 400)");
        auth.MapGet("/me", GetMe).RequireAuthorization();
        auth.MapPut("/password", ChangePassword).RequireAuthorization(Policies.User).Validate<PasswordChange>();

        var users = app.MapGroup("/api/users").WithTags("Accounts").RequireAuthorization(Policies.Admin);
        users.MapGet("/", ListAccounts);
        users.MapPost("/", CreateAccount).Validate<NewAccountRequest>();
        users.MapPost("/{id:long}/disable", Disable);

        app.MapGet("/api/audit", AuditLog).WithTags("Accounts").RequireAuthorization(Policies.Admin)
            .WithSummary("The audit log of coordinator and admin actions, newest first; filter by survey, action (or its prefix, e.g. round) and user e-mail");
    }

    static async Task<Results<Ok<SignInResponse>, ProblemHttpResult>> SignIn(SignInRequest body, HttpContext http, Db db, TimeProvider clock, IOptions<ForesightOptions> options)
    {
        var user = await VerifyAsync(db, body.Email, body.Password);
        if (user is null) return Problems.Make(401, "Sign-in failed", "The e-mail or password is wrong, or the account is disabled.");
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;

        var token = Secrets.NewUserToken();
        var now = clock.GetUtcNow();
        var expires = now.AddDays(options.Value.TokenLifetimeDays);
        await c.ExecuteAsync("INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) VALUES (@Id, @hash, @now, @expires)",
            new { user.Id, hash = Secrets.Hash(token), now = Db.Iso(now), expires = Db.Iso(expires) }, tx);
        await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            Caller.ForUser(user.Id, user.Name, user.Role, CookieAuthenticationDefaults.AuthenticationScheme));
        await tx.CommitAsync();
        return TypedResults.Ok(new SignInResponse(token, Db.Iso(expires), user));
    }

    /// <summary>The account for an e-mail and password, or null (wrong password, unknown or disabled account).</summary>
    public static async Task<AccountView?> VerifyAsync(Db db, string email, string password)
    {
        await using var c = await db.OpenAsync();
        var user = await c.QuerySingleOrDefaultAsync<UserRow>("SELECT * FROM users WHERE email = @email", new { email = email.Trim().ToLowerInvariant() });
        bool ok = user is { DisabledAt: null } && Hasher.VerifyHashedPassword(null!, user.PasswordHash, password) != PasswordVerificationResult.Failed;
        return ok ? user!.View : null;
    }

    /// <summary>
    /// Ends the caller's session cookie and, for an API token, the token (at once, on every request and hub connection
    /// made with it). An expert's invitation key is their personal link and cannot be signed out: only the survey's
    /// coordinators renew or revoke it, so a sign-out with it is refused rather than answered as if it had worked.
    /// </summary>
    static async Task<Results<NoContent, ProblemHttpResult>> SignOut(HttpContext http, Db db, ChangeEvents changes, TimeProvider clock)
    {
        var header = http.Request.Headers.Authorization.ToString();
        var bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        if (bearer is not null && !bearer.StartsWith(Secrets.UserTokenPrefix, StringComparison.Ordinal))
            return Problems.BadRequest("An invitation key cannot be signed out: it is your personal link to the survey and keeps working until the " +
                "survey's coordinator renews or revokes it. To stop using it on this device, forget it; to end it, ask the coordinator.");
        if (bearer is not null)
        {
            var hash = Secrets.Hash(bearer);
            await using (var w = await db.BeginWriteAsync())
            {
                await w.Connection.ExecuteAsync("UPDATE api_tokens SET revoked_at = @now WHERE token_hash = @hash AND revoked_at IS NULL",
                    new { now = Db.Iso(clock.GetUtcNow()), hash }, w.Transaction);
                await w.CommitAsync();
            }
            changes.Publish(new TokenAccessEnded(hash));
        }
        await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.NoContent();
    }

    static async Task<Ok<Me>> GetMe(ClaimsPrincipal user, Db db)
    {
        if (user.MemberId() is not null)
            return TypedResults.Ok(new Me(Roles.Expert, null, user.ExpertSurveyId(), user.Identity!.Name));
        await using var c = await db.OpenAsync();
        var row = await c.QuerySingleAsync<UserRow>("SELECT * FROM users WHERE id = @id", new { id = user.UserId() });
        return TypedResults.Ok(new Me(row.Role, row.View, null, null));
    }

    static async Task<Results<NoContent, ProblemHttpResult>> ChangePassword(PasswordChange body, ClaimsPrincipal user, Db db)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var row = await c.QuerySingleAsync<UserRow>("SELECT * FROM users WHERE id = @id", new { id = user.UserId() }, tx);
        if (Hasher.VerifyHashedPassword(null!, row.PasswordHash, body.Current) == PasswordVerificationResult.Failed)
            return Problems.BadRequest("The current password is wrong.");
        await c.ExecuteAsync("UPDATE users SET password_hash = @hash WHERE id = @id", new { hash = HashPassword(body.New), id = row.Id }, tx);
        await tx.CommitAsync();
        return TypedResults.NoContent();
    }

    static async Task<Ok<List<AccountView>>> ListAccounts(Db db)
    {
        await using var c = await db.OpenAsync();
        return TypedResults.Ok((await c.QueryAsync<UserRow>("SELECT * FROM users ORDER BY id")).Select(u => u.View).ToList());
    }

    static async Task<Results<Created<NewAccountResponse>, ProblemHttpResult>> CreateAccount(NewAccountRequest body, ClaimsPrincipal admin, Db db)
    {
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var email = body.Email.Trim().ToLowerInvariant();
        if (await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users WHERE email = @email", new { email }, tx) > 0)
            return Problems.Conflict($"An account with e-mail '{email}' exists already.");
        var generated = body.Password is null ? Secrets.NewPassword() : null;
        var id = await c.ExecuteScalarAsync<long>("""
            INSERT INTO users (email, name, role, password_hash, created_at) VALUES (@email, @Name, @Role, @hash, @now) RETURNING id
            """, new { email, Name = body.Name.Trim(), body.Role, hash = HashPassword(body.Password ?? generated!), now = Db.Iso(DateTimeOffset.UtcNow) }, tx);
        await Audit.LogAsync(c, tx, admin.UserId(), null, "account.created", new { email, body.Role });
        var row = await c.QuerySingleAsync<UserRow>("SELECT * FROM users WHERE id = @id", new { id }, tx);
        await tx.CommitAsync();
        return TypedResults.Created($"/api/users/{id}", new NewAccountResponse(row.View, generated));
    }

    static async Task<Results<NoContent, ProblemHttpResult>> Disable(long id, ClaimsPrincipal admin, Db db, ChangeEvents changes)
    {
        if (admin.UserId() == id) return Problems.BadRequest("You cannot disable your own account.");
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var n = await c.ExecuteAsync("UPDATE users SET disabled_at = @now WHERE id = @id AND disabled_at IS NULL", new { id, now = Db.Iso(DateTimeOffset.UtcNow) }, tx);
        if (n == 0) return Problems.NotFound($"There is no enabled account {id}.");
        await c.ExecuteAsync("UPDATE api_tokens SET revoked_at = @now WHERE user_id = @id AND revoked_at IS NULL", new { id, now = Db.Iso(DateTimeOffset.UtcNow) }, tx);
        await Audit.LogAsync(c, tx, admin.UserId(), null, "account.disabled", new { id });
        await tx.CommitAsync();
        changes.Publish(new UserAccessEnded(id, null));
        return TypedResults.NoContent();
    }

    internal static async Task<Ok<List<AuditEntry>>> AuditLog(Db db, string? survey, string? action, string? user, int? limit) =>
        TypedResults.Ok(await AuditAsync(db, survey, action, user, limit ?? 200));

    /// <summary>The newest audit entries; survey by id or slug, action by prefix ("round." for opened and closed), user by e-mail.</summary>
    internal static async Task<List<AuditEntry>> AuditAsync(Db db, string? survey, string? action, string? user, int limit)
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
