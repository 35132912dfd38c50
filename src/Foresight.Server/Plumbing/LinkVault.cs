using Microsoft.AspNetCore.DataProtection;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Keeps secrets the server must hand out again later (an expert's personal link in a reminder, a published report's
/// link in a thank-you) encrypted with the data-protection key ring, which lives outside the database (data/keys) and is
/// itself encrypted with the master key, which lives outside the data folder.
/// </summary>
public sealed class LinkVault(IDataProtectionProvider provider)
{
    readonly IDataProtector _protector = provider.CreateProtector("Foresight.Links.v1");

    public string Protect(string secret) => _protector.Protect(secret);

    /// <returns>null when the text was protected with keys this server no longer has</returns>
    public string? Unprotect(string text)
    {
        try { return _protector.Unprotect(text); }
        catch (System.Security.Cryptography.CryptographicException) { return null; }
    }
}
