using System.Security.Claims;
using System.Text.Encodings.Web;
using Dapper;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Plumbing;

public static class Roles
{
    public const string Admin = "admin";
    public const string Coordinator = "coordinator";
    public const string Stakeholder = "stakeholder";
    public const string Expert = "expert";
}

public static class Policies
{
    /// <summary>Any signed-in account (admin, coordinator, stakeholder).</summary>
    public const string User = "user";
    public const string Coordinator = "coordinator";
    public const string Admin = "admin";
    /// <summary>An expert signed in with an invitation link.</summary>
    public const string Expert = "expert";
}

/// <summary>Who is calling: an account (user id, role) or a panel member (member id, survey id).</summary>
public static class Caller
{
    public const string MemberClaim = "fs:member";
    public const string SurveyClaim = "fs:survey";
    /// <summary>When the member's secret was issued: a renewed or revoked link ends older sessions.</summary>
    public const string StampClaim = "fs:stamp";
    /// <summary>The hash of the API token an account's request or hub connection was made with: signing it out ends both.</summary>
    public const string TokenClaim = "fs:token";

    public static long? UserId(this ClaimsPrincipal p) =>
        p.IsInRole(Roles.Expert) ? null : long.TryParse(p.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null;

    public static long? MemberId(this ClaimsPrincipal p) => long.TryParse(p.FindFirstValue(MemberClaim), out var id) ? id : null;

    public static long? ExpertSurveyId(this ClaimsPrincipal p) => long.TryParse(p.FindFirstValue(SurveyClaim), out var id) ? id : null;

    public static bool IsAdmin(this ClaimsPrincipal p) => p.IsInRole(Roles.Admin);

    public static ClaimsPrincipal ForUser(long id, string name, string role, string scheme, string? tokenHash = null)
    {
        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, id.ToString()),
            new Claim(ClaimTypes.Name, name),
            new Claim(ClaimTypes.Role, role),
        ], scheme);
        if (tokenHash is not null) identity.AddClaim(new Claim(TokenClaim, tokenHash));
        return new ClaimsPrincipal(identity);
    }

    public static ClaimsPrincipal ForMember(long memberId, long surveyId, string pseudonym, string stamp, string scheme) => new(new ClaimsIdentity(
    [
        new Claim(MemberClaim, memberId.ToString()),
        new Claim(SurveyClaim, surveyId.ToString()),
        new Claim(ClaimTypes.Name, pseudonym),
        new Claim(ClaimTypes.Role, Roles.Expert),
        new Claim(StampClaim, stamp),
    ], scheme));
}

/// <summary>
/// Looks up bearer credentials (account API tokens fsu_..., expert invitation secrets) and checks cookie sessions and
/// hub connections. Answers are kept for a short time, since every request asks; a revoked or renewed link, a
/// signed-out token or a disabled account is forgotten as soon as its change event is published.
/// </summary>
public sealed class CredentialStore(Db db, TimeProvider clock)
    : IChangeHandler<MemberAccessEnded>, IChangeHandler<UserAccessEnded>, IChangeHandler<TokenAccessEnded>, IFollowsEveryNode
{
    static readonly TimeSpan Keep = TimeSpan.FromSeconds(30);

    public Task HandleAsync(MemberAccessEnded change) { ForgetMember(change.MemberId); return Task.CompletedTask; }

    public Task HandleAsync(UserAccessEnded change) { if (change.SurveyId is null) ForgetUser(change.UserId); return Task.CompletedTask; }

    public Task HandleAsync(TokenAccessEnded change) { ForgetToken(change.TokenHash); return Task.CompletedTask; }

    /// <summary>Who a credential is: an account (User, and the token's hash) or a panel member (Member, Survey, Stamp).</summary>
    sealed record Identity(long? User, string Name, string Role, long? Member, long? Survey, string? Stamp, DateTimeOffset Until, string? Token = null)
    {
        public ClaimsPrincipal Principal(string scheme) => Member is { } m
            ? Caller.ForMember(m, Survey!.Value, Name, Stamp!, scheme)
            : Caller.ForUser(User!.Value, Name, Role, scheme, Token);
    }

    readonly System.Collections.Concurrent.ConcurrentDictionary<string, Identity> _bearers = new(StringComparer.Ordinal);
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _sessions = new(StringComparer.Ordinal);

    public async Task<ClaimsPrincipal?> FromBearerAsync(string token, string scheme)
    {
        var hash = Secrets.Hash(token);
        var now = clock.GetUtcNow();
        if (_bearers.TryGetValue(hash, out var known) && known.Until > now) return known.Principal(scheme);
        await using var c = await db.OpenAsync();
        Identity? found;
        if (token.StartsWith(Secrets.UserTokenPrefix, StringComparison.Ordinal))
        {
            var user = await c.QuerySingleOrDefaultAsync<(long Id, string Name, string Role)>("""
                SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = @hash AND t.revoked_at IS NULL AND t.expires_at > @now AND u.disabled_at IS NULL
                """, new { hash, now = Db.Iso(now) });
            found = user.Id == 0 ? null : new Identity(user.Id, user.Name, user.Role, null, null, null, now + Keep, hash);
        }
        else found = await MemberAsync(c, hash, now);
        if (found is null) { _bearers.TryRemove(hash, out _); return null; }
        _bearers[hash] = found;
        return found.Principal(scheme);
    }

    public async Task<ClaimsPrincipal?> FromInvitationAsync(string secret, string scheme)
    {
        await using var c = await db.OpenAsync();
        return (await MemberAsync(c, Secrets.Hash(secret), clock.GetUtcNow()))?.Principal(scheme);
    }

    /// <summary>
    /// Checks that a session or a hub connection is still good: the account enabled and, when it came with an API token,
    /// the token neither signed out nor expired; the invitation neither renewed nor revoked.
    /// </summary>
    public async Task<bool> StillValidAsync(ClaimsPrincipal principal)
    {
        var now = clock.GetUtcNow();
        var token = principal.FindFirstValue(Caller.TokenClaim);
        var key = principal.MemberId() is { } m ? $"m:{m}:{principal.FindFirstValue(Caller.StampClaim)}"
            : token is not null ? $"t:{principal.UserId()}:{token}" : $"u:{principal.UserId()}";
        if (_sessions.TryGetValue(key, out var until) && until > now) return true;
        await using var c = await db.OpenAsync();
        bool valid;
        if (principal.MemberId() is { } member)
        {
            var stamp = await c.QuerySingleOrDefaultAsync<string>(
                "SELECT secret_issued_at FROM panel_members WHERE id = @member AND revoked_at IS NULL", new { member });
            valid = stamp is not null && stamp == principal.FindFirstValue(Caller.StampClaim);
        }
        else if (principal.UserId() is { } user && token is not null)
            valid = await c.ExecuteScalarAsync<long>("""
                SELECT COUNT(*) FROM api_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = @token AND t.user_id = @user AND t.revoked_at IS NULL AND t.expires_at > @now AND u.disabled_at IS NULL
                """, new { token, user, now = Db.Iso(now) }) == 1;
        else if (principal.UserId() is { } account)
            valid = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM users WHERE id = @account AND disabled_at IS NULL", new { account }) == 1;
        else valid = false;
        if (valid) _sessions[key] = now + Keep; else _sessions.TryRemove(key, out _);
        return valid;
    }

    void ForgetMember(long memberId)
    {
        foreach (var (hash, identity) in _bearers) if (identity.Member == memberId) _bearers.TryRemove(hash, out _);
        foreach (var key in _sessions.Keys) if (key.StartsWith($"m:{memberId}:", StringComparison.Ordinal)) _sessions.TryRemove(key, out _);
    }

    void ForgetUser(long userId)
    {
        foreach (var (hash, identity) in _bearers) if (identity.User == userId) _bearers.TryRemove(hash, out _);
        foreach (var key in _sessions.Keys) if (key.StartsWith($"t:{userId}:", StringComparison.Ordinal)) _sessions.TryRemove(key, out _);
        _sessions.TryRemove($"u:{userId}", out _);
    }

    void ForgetToken(string hash)
    {
        _bearers.TryRemove(hash, out _);
        foreach (var key in _sessions.Keys) if (key.StartsWith("t:", StringComparison.Ordinal) && key.EndsWith(":" + hash, StringComparison.Ordinal))
            _sessions.TryRemove(key, out _);
    }

    static async Task<Identity?> MemberAsync(Microsoft.Data.Sqlite.SqliteConnection c, string hash, DateTimeOffset now)
    {
        var m = await c.QuerySingleOrDefaultAsync<(long Id, long SurveyId, string Pseudonym, string Stamp)>(
            "SELECT id, survey_id, pseudonym, secret_issued_at FROM panel_members WHERE secret_hash = @hash AND revoked_at IS NULL", new { hash });
        return m.Id == 0 ? null : new Identity(null, m.Pseudonym, Roles.Expert, m.Id, m.SurveyId, m.Stamp, now + Keep);
    }
}

public sealed class BearerHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, CredentialStore store)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        string token;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) token = header["Bearer ".Length..].Trim();
        // Browsers cannot set headers on WebSocket and EventSource requests: SignalR sends the token in the query.
        else if (Request.Path.StartsWithSegments("/hubs") && Request.Query["access_token"].FirstOrDefault() is { Length: > 0 } q) token = q;
        else return AuthenticateResult.NoResult();
        if (token.Length is 0 or > 200) return AuthenticateResult.Fail("malformed bearer token");
        var principal = await store.FromBearerAsync(token, SchemeName);
        return principal is null
            ? AuthenticateResult.Fail("unknown, expired or revoked token")
            : AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        WriteProblem(401, "Not signed in",
            "Send 'Authorization: Bearer <token>': a token from POST /api/auth/signin, or an expert's invitation secret. A revoked or renewed invitation no " +
            "longer works.");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblem(403, "Forbidden", "Your account or invitation does not give access to this.");

    Task WriteProblem(int status, string title, string detail)
    {
        Response.StatusCode = status;
        return Problems.Make(status, title, detail).ExecuteAsync(Context);
    }
}

public static class AuthSetup
{
    public const string PolicyScheme = "Foresight";
    public const string CookieName = "foresight";

    public static IServiceCollection AddForesightAuth(this IServiceCollection services)
    {
        services.AddSingleton<CredentialStore>();
        services.AddChangeHandler<MemberAccessEnded, CredentialStore>();
        services.AddChangeHandler<UserAccessEnded, CredentialStore>();
        services.AddChangeHandler<TokenAccessEnded, CredentialStore>();
        services.AddAuthentication(PolicyScheme)
            .AddPolicyScheme(PolicyScheme, PolicyScheme, o =>
                o.ForwardDefaultSelector = ctx => ctx.Request.Headers.Authorization.Count > 0
                        || (ctx.Request.Path.StartsWithSegments("/hubs") && ctx.Request.Query.ContainsKey("access_token"))
                    ? BearerHandler.SchemeName
                    : CookieAuthenticationDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, BearerHandler>(BearerHandler.SchemeName, null)
            .AddCookie(o =>
            {
                o.Cookie.Name = CookieName;
                o.Cookie.HttpOnly = true;
                // Lax, not Strict: an expert arrives from a link in an e-mail (another site) and must stay signed in
                // through the redirect. Cross-site POSTs never carry it; cookie API calls need antiforgery (WebSecurity).
                o.Cookie.SameSite = SameSiteMode.Lax;
                // Browsers keep Secure cookies for http://localhost too; anywhere else Foresight is served over HTTPS.
                o.Cookie.SecurePolicy = CookieSecurePolicy.Always;
                o.SlidingExpiration = true;
                o.ExpireTimeSpan = TimeSpan.FromDays(14);
                o.LoginPath = "/signin";
                o.AccessDeniedPath = "/signin";
                o.Events.OnRedirectToLogin = ctx => ApiOrRedirect(ctx, 401, "Not signed in", "Sign in first.");
                o.Events.OnRedirectToAccessDenied = ctx => ApiOrRedirect(ctx, 403, "Forbidden", "Your account or invitation does not give access to this.");
                o.Events.OnValidatePrincipal = async ctx =>
                {
                    var store = ctx.HttpContext.RequestServices.GetRequiredService<CredentialStore>();
                    if (ctx.Principal is null || !await store.StillValidAsync(ctx.Principal))
                    {
                        ctx.RejectPrincipal();
                        await ctx.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                    }
                };
            });

        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.User, p => p.RequireRole(Roles.Admin, Roles.Coordinator, Roles.Stakeholder))
            .AddPolicy(Policies.Coordinator, p => p.RequireRole(Roles.Admin, Roles.Coordinator))
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin))
            .AddPolicy(Policies.Expert, p => p.RequireRole(Roles.Expert));
        return services;
    }

    static Task ApiOrRedirect(RedirectContext<CookieAuthenticationOptions> ctx, int status, string title, string detail)
    {
        if (ctx.Request.Path.StartsWithSegments("/api") || ctx.Request.Path.StartsWithSegments("/hubs"))
        {
            ctx.Response.StatusCode = status;
            return Problems.Make(status, title, detail).ExecuteAsync(ctx.HttpContext);
        }
        ctx.Response.Redirect(ctx.RedirectUri);
        return Task.CompletedTask;
    }
}
