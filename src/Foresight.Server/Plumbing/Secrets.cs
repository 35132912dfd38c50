using System.Security.Cryptography;
using System.Text;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Random secrets (invitation links, API tokens) and their stored form. A secret has 256 random bits, so a
/// plain SHA-256 of it is a safe thing to store: there is nothing to guess. Passwords use PasswordHasher instead.
/// </summary>
public static class Secrets
{
    public const string UserTokenPrefix = "fsu_";

    public static string New() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string NewUserToken() => UserTokenPrefix + New();

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>A readable random password for a generated account (about 120 bits).</summary>
    public static string NewPassword() => Base64Url(RandomNumberGenerator.GetBytes(15));

    /// <summary>Pseudonyms: 4 characters from an alphabet without look-alikes (0/O, 1/I).</summary>
    public static string NewPseudonym()
    {
        const string alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        Span<char> chars = stackalloc char[4];
        for (int i = 0; i < chars.Length; i++) chars[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        return new string(chars);
    }

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
