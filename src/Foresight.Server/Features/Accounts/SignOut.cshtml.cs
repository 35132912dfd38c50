using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foresight.Server.Features.Accounts;

/// <summary>Ends the session (a form POST, with its antiforgery token).</summary>
public sealed class SignOutPage : PageModel
{
    public IActionResult OnGet() => LocalRedirect("/signin");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return LocalRedirect("/signin");
    }
}
