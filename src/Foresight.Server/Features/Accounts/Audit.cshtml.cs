using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foresight.Server.Features.Accounts;

/// <summary>The audit log for admins: who did what to which survey, newest first, with filters.</summary>
[Authorize(Policy = Policies.Admin)]
public sealed class AuditPage(AccountService accounts) : PageModel
{
    public const int PageSize = 200;

    [BindProperty(SupportsGet = true)] public string? Survey { get; set; }
    [BindProperty(SupportsGet = true)] public string? Action { get; set; }
    [BindProperty(SupportsGet = true, Name = "user")] public string? Who { get; set; }

    public List<AuditEntry> Entries { get; private set; } = [];

    public async Task OnGetAsync() => Entries = await accounts.AuditAsync(Survey, Action, Who, PageSize);
}
