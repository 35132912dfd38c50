using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;

namespace Foresight.Server.Features.Accounts;

/// <summary>Sign-in for admins, coordinators and stakeholders: a session cookie. The form's posts share the API sign-in's rate limit.</summary>
[EnableRateLimiting(RateLimits.SignIn)]
public sealed class SignInPage(AccountService accounts) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    [BindProperty] public string Email { get; set; } = "";
    [BindProperty] public string Password { get; set; } = "";
    public bool Failed { get; private set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync()
    {
        var account = await accounts.VerifyAsync(Email, Password);
        if (account is null)
        {
            Failed = true;
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            Caller.ForUser(account.Id, account.Name, account.Role, CookieAuthenticationDefaults.AuthenticationScheme));
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl! : account.Role == Roles.Stakeholder ? "/reports" : "/console");
    }
}
