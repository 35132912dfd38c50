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
    public static IServiceCollection AddAccounts(this IServiceCollection services) => services.AddSingleton<AccountService>();

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
        users.MapGet("/", async (AccountService accounts) => TypedResults.Ok(await accounts.ListAsync()));
        users.MapPost("/", (NewAccountRequest body, ClaimsPrincipal admin, AccountService accounts) =>
            accounts.CreateAsync(body, admin.UserId()).ToHttp(r => TypedResults.Created($"/api/users/{r.Account.Id}", r))).Validate<NewAccountRequest>();
        users.MapPost("/{id:long}/disable", (long id, ClaimsPrincipal admin, AccountService accounts) =>
            accounts.DisableAsync(id, admin.UserId()).ToNoContent());

        app.MapGet("/api/audit", async (string? survey, string? action, string? user, int? limit, AccountService accounts) =>
                TypedResults.Ok(await accounts.AuditAsync(survey, action, user, limit ?? 200)))
            .WithTags("Accounts").RequireAuthorization(Policies.Admin)
            .WithSummary("The audit log of coordinator and admin actions, newest first; filter by survey, action (or its prefix, e.g. round) and user e-mail");
    }

    static async Task<Results<Ok<SignInResponse>, ProblemHttpResult>> SignIn(SignInRequest body, HttpContext http, AccountService accounts)
    {
        var outcome = await accounts.SignInAsync(body.Email, body.Password);
        if (outcome.Value is { } signedIn)
            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
                Caller.ForUser(signedIn.Account.Id, signedIn.Account.Name, signedIn.Account.Role, CookieAuthenticationDefaults.AuthenticationScheme));
        return outcome.ToHttp(TypedResults.Ok);
    }

    /// <summary>
    /// Ends the caller's session cookie and, for an API token, the token (at once, on every request and hub connection
    /// made with it). An expert's invitation key is their personal link and cannot be signed out: only the survey's
    /// coordinators renew or revoke it, so a sign-out with it is refused rather than answered as if it had worked.
    /// </summary>
    static async Task<Results<NoContent, ProblemHttpResult>> SignOut(HttpContext http, AccountService accounts)
    {
        var header = http.Request.Headers.Authorization.ToString();
        var bearer = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        if (bearer is not null)
        {
            var outcome = await accounts.EndTokenAsync(bearer);
            if (outcome.Refusal is { } refusal) return refusal.ToProblem();
        }
        await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.NoContent();
    }

    static async Task<Ok<Me>> GetMe(ClaimsPrincipal user, AccountService accounts) =>
        TypedResults.Ok(user.MemberId() is not null
            ? new Me(Roles.Expert, null, user.ExpertSurveyId(), user.Identity!.Name)
            : await accounts.MeAsync(user.UserId()!.Value));

    static Task<Results<NoContent, ProblemHttpResult>> ChangePassword(PasswordChange body, ClaimsPrincipal user, AccountService accounts) =>
        accounts.ChangePasswordAsync(user.UserId()!.Value, body).ToNoContent();
}
