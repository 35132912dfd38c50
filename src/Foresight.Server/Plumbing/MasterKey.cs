using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace Foresight.Server.Plumbing;

/// <summary>A master key setting that cannot be used; the message names the setting and says what to do.</summary>
public sealed class MasterKeyException(string message) : Exception(message);

/// <summary>
/// The key that encrypts the data-protection keys (data/keys) at rest, with AES-256-GCM. It is never kept in the data
/// folder: it comes from configuration (Foresight:MasterKey, Foresight:MasterKeyFile) or, for the embedded default,
/// from a file generated once in the user's config directory. A copy of the data folder alone gives back no link.
/// </summary>
public sealed class MasterKey
{
    public const string Setting = "Foresight:MasterKey";
    public const string FileSetting = "Foresight:MasterKeyFile";
    public const string RequireSetting = "Foresight:RequireMasterKey";
    public const string HowToMake = "the base64 of 32 random bytes, e.g. from `openssl rand -base64 32`";
    const int KeySize = 32, NonceSize = 12, TagSize = 16;

    /// <summary>The element that replaces a secret in a key's XML; its value is nonce, tag and ciphertext in base64.</summary>
    public static readonly XName SealedName = "sealedWithMasterKey";
    // Binds the ciphertext to this use, so a value sealed for something else in the future cannot pass for a key.
    static readonly byte[] Context = "Foresight data-protection key ring v1"u8.ToArray();

    readonly byte[] _key;

    /// <summary>Where the key came from, for messages: a setting or a file's path (never the key).</summary>
    public string Source { get; }

    /// <summary>The file of a key generated at this start (the embedded default), or null.</summary>
    public string? GeneratedFile { get; }

    /// <summary>Names the key in files and messages: 8 hex digits of its SHA-256 (the key has 256 random bits, so this gives nothing away).</summary>
    public string Id { get; }

    MasterKey(byte[] key, string source, string? generatedFile = null)
    {
        _key = key;
        Source = source;
        GeneratedFile = generatedFile;
        Id = Convert.ToHexStringLower(SHA256.HashData(key))[..8];
    }

    /// <summary>A master key from its base64 text; <paramref name="what"/> names where the text came from in the error.</summary>
    public static MasterKey Parse(string text, string what)
    {
        byte[] bytes;
        try { bytes = Convert.FromBase64String(text.Trim()); }
        catch (FormatException) { throw new MasterKeyException($"{what} is not a master key: it must be {HowToMake}, and it is not base64."); }
        if (bytes.Length != KeySize)
            throw new MasterKeyException($"{what} is not a master key: it must be {HowToMake}, and it holds {bytes.Length} bytes.");
        return new MasterKey(bytes, what);
    }

    /// <summary>
    /// The master key the configuration gives, or for the embedded default the one generated for this database in the
    /// user's config directory (made now if there is none and no key is encrypted yet).
    /// </summary>
    /// <param name="contentRoot">what a relative MasterKeyFile is under, as for the database</param>
    /// <param name="keysAreSealed">whether data/keys already holds keys encrypted with a master key: then a new one is never generated</param>
    public static MasterKey Resolve(IConfiguration config, string contentRoot, string databasePath, string keysFolder, bool keysAreSealed)
    {
        var value = config[Setting];
        var file = config[FileSetting];
        if (!string.IsNullOrWhiteSpace(value) && !string.IsNullOrWhiteSpace(file))
            throw new MasterKeyException($"Give one of {Setting} and {FileSetting}, not both.");
        if (!string.IsNullOrWhiteSpace(value)) return Parse(value, Setting);
        if (!string.IsNullOrWhiteSpace(file))
        {
            var path = Path.GetFullPath(file, contentRoot);
            string text;
            try { text = File.ReadAllText(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new MasterKeyException($"{FileSetting}: {path} cannot be read ({e.Message}). It must hold {HowToMake}.");
            }
            return Parse(text, $"{FileSetting} ({path})");
        }
        if (config.GetValue<bool>(RequireSetting))
            throw new MasterKeyException($"No master key is given, and {RequireSetting} is true. Set {Setting} (environment variable " +
                $"Foresight__MasterKey) to {HowToMake}, or {FileSetting} to a file holding one. Keep that key for as long as the data " +
                "folder is used, apart from the folder and its backups: the invitation links kept for e-mails cannot be read back without it.");
        return Generated(databasePath, keysFolder, keysAreSealed);
    }

    /// <summary>Where the embedded default keeps the master key of a database: outside the data folder, one file per database path.</summary>
    public static string? DefaultFile(string databasePath)
    {
        // XDG_CONFIG_HOME, or ~/.config, on Linux; empty when the user has no home.
        var config = Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (string.IsNullOrEmpty(config)) return null;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(databasePath))))[..12];
        return Path.Combine(config, "foresight", $"master-{hash}.key");
    }

    static MasterKey Generated(string databasePath, string keysFolder, bool keysAreSealed)
    {
        var path = DefaultFile(databasePath) ?? throw new MasterKeyException(
            $"No master key is given, and there is no config directory to keep a generated one in (HOME is not set). Set {Setting} to {HowToMake}, or " +
            $"{FileSetting} to a file holding one.");
        if (File.Exists(path)) return Parse(File.ReadAllText(path), path);
        if (keysAreSealed)
            throw new MasterKeyException($"The data-protection keys in {keysFolder} are encrypted with a master key, but none is given and {path}, " +
                $"where the one generated for this database would be, does not exist. Give the master key they were encrypted with: {Setting} " +
                $"or {FileSetting} (a generated one is in the config directory of whoever first ran the server on this database, as " +
                "foresight/master-<hash>.key; " +
                "the hash is of the database's full path, so a moved database looks for another file).");
        OwnerOnly.CreateNewDirectory(Path.GetDirectoryName(path)!);
        var text = Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeySize));
        // Another server starting on the same database at the same moment may have written one first: then that one counts.
        if (!OwnerOnly.WriteFile(path, text + "\n", replace: false)) return Parse(File.ReadAllText(path), path);
        return new MasterKey(Convert.FromBase64String(text), path, generatedFile: path);
    }

    /// <summary>Encrypts an element of a key's XML (its secret part).</summary>
    public XElement Seal(XElement element)
    {
        var plaintext = Encoding.UTF8.GetBytes(element.ToString(SaveOptions.DisableFormatting));
        var sealedBytes = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using (var aes = new AesGcm(_key, TagSize))
            aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), Context);
        return new XElement(SealedName,
            new XAttribute("algorithm", "AES-256-GCM"),
            new XAttribute("masterKey", Id),
            new XComment(" Encrypted with Foresight's master key, which is not kept in this folder. "),
            new XElement("value", Convert.ToBase64String(sealedBytes)));
    }

    /// <summary>Decrypts what <see cref="Seal"/> made.</summary>
    /// <exception cref="CryptographicException">it was sealed with another master key, or changed</exception>
    public XElement Open(XElement sealedElement)
    {
        if (sealedElement.Name != SealedName) throw new CryptographicException($"expected a {SealedName} element, found {sealedElement.Name}");
        byte[] sealedBytes;
        try { sealedBytes = Convert.FromBase64String((string?)sealedElement.Element("value") ?? ""); }
        catch (FormatException) { throw new CryptographicException("its sealed value is not base64"); }
        if (sealedBytes.Length < NonceSize + TagSize) throw new CryptographicException("its sealed value is too short");
        var plaintext = new byte[sealedBytes.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(_key, TagSize);
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), plaintext, Context);
        }
        catch (CryptographicException e)
        {
            throw new CryptographicException($"it was encrypted with master key {(string?)sealedElement.Attribute("masterKey") ?? "?"}, " +
                $"not with master key {Id} from {Source} (or it was changed)", e);
        }
        return XElement.Parse(Encoding.UTF8.GetString(plaintext));
    }
}

/// <summary>Encrypts each new data-protection key with the master key before it is written to data/keys.</summary>
public sealed class MasterKeyXmlEncryptor(MasterKey key) : IXmlEncryptor
{
    public EncryptedXmlInfo Encrypt(XElement plaintextElement) => new(key.Seal(plaintextElement), typeof(MasterKeyXmlDecryptor));
}

/// <summary>
/// Decrypts the keys <see cref="MasterKeyXmlEncryptor"/> wrote. Data protection creates it from the type name stored in
/// the key's XML, with this constructor, passing the application's services (as it does for its own decryptors).
/// </summary>
public sealed class MasterKeyXmlDecryptor(IServiceProvider? services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var key = services?.GetService<MasterKey>()
            ?? throw new CryptographicException("This key is encrypted with Foresight's master key, and none is configured here.");
        return key.Open(encryptedElement);
    }
}
