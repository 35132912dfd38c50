using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;

namespace Foresight.Server.Plumbing;

public static class DataProtectionSetup
{
    /// <summary>
    /// Keeps the keys that encrypt session cookies and the invitation links kept for e-mails beside the database
    /// (data/keys), so that both survive a restart or a new container with the same data volume; each key is encrypted
    /// with the master key, which is not in the data folder (<see cref="MasterKey"/>).
    /// </summary>
    public static IServiceCollection AddForesightDataProtection(this IServiceCollection services, IConfiguration config, IHostEnvironment env)
    {
        var database = Db.ResolvePath(config.GetValue<string>($"{ForesightOptions.Section}:Database") ?? new ForesightOptions().Database, env);
        OwnerOnly.CreateNewDirectory(Path.GetDirectoryName(database)!);
        var keys = Path.Combine(Path.GetDirectoryName(database)!, "keys");
        OwnerOnly.CreateDirectory(keys);
        var masterKey = MasterKey.Resolve(config, env.ContentRootPath, database, keys, KeyRingFolder.HasSealedKeys(keys));
        var ring = KeyRingFolder.Prepare(keys, masterKey);
        services.AddSingleton(masterKey);
        services.AddSingleton(ring);
        services.AddDataProtection().SetApplicationName("Foresight").PersistKeysToFileSystem(new DirectoryInfo(keys));
        services.Configure<KeyManagementOptions>(o => o.XmlEncryptor = new MasterKeyXmlEncryptor(masterKey));
        return services;
    }

    /// <summary>Says at start-up where the master key is and what was done to the keys folder.</summary>
    public static void LogKeyRing(IServiceProvider services, ILogger logger)
    {
        var key = services.GetRequiredService<MasterKey>();
        var ring = services.GetRequiredService<KeyRingFolder>();
        if (key.GeneratedFile is { } generated)
            logger.LogWarning("Generated the master key {Path} for the data-protection keys in {Keys}. Keep it, apart from the data folder and its backups: " +
                "without it the invitation links kept for e-mails cannot be read back. Production sets {Setting} or {FileSetting}",
                generated, ring.Folder, MasterKey.Setting, MasterKey.FileSetting);
        logger.LogInformation("The data-protection keys in {Keys} are encrypted with master key {Id} from {Source}", ring.Folder, key.Id, key.Source);
        if (ring.Sealed > 0)
            logger.LogWarning("Encrypted {Count} data-protection key(s) that an earlier version had stored unencrypted in {Keys}; copies of that folder " +
                "made before now still hold them readable, and with them the invitation links (renewing the links makes those useless)", ring.Sealed,
                ring.Folder);
    }
}

/// <summary>
/// The data-protection keys folder, checked before data protection reads it: every key encrypted with a master key must
/// open with the one given (otherwise data protection would quietly make a new key, and every link kept for e-mails
/// would be lost); keys an earlier version stored unencrypted are encrypted in place; every file is made 0600.
/// </summary>
public sealed class KeyRingFolder
{
    static readonly XNamespace DataProtection = "http://schemas.asp.net/2015/03/dataProtection";
    static readonly XName EncryptedSecret = DataProtection + "encryptedSecret";
    static readonly XName RequiresEncryption = DataProtection + "requiresEncryption";

    public string Folder { get; }

    /// <summary>How many keys were found unencrypted and encrypted at this start.</summary>
    public int Sealed { get; }

    KeyRingFolder(string path, int sealedCount)
    {
        Folder = path;
        Sealed = sealedCount;
    }

    static IEnumerable<string> KeyFiles(string folder) => Directory.EnumerateFiles(folder, "*.xml").Order(StringComparer.Ordinal);

    static bool OursToOpen(XElement encryptedSecret) =>
        ((string?)encryptedSecret.Attribute("decryptorType"))?.Split(',')[0].Trim() == typeof(MasterKeyXmlDecryptor).FullName;

    public static bool HasSealedKeys(string folder) =>
        KeyFiles(folder).Any(f => XElement.Load(f).Descendants(EncryptedSecret).Any(OursToOpen));

    public static KeyRingFolder Prepare(string folder, MasterKey masterKey)
    {
        int sealedCount = 0;
        foreach (var file in KeyFiles(folder))
        {
            var root = XElement.Load(file);
            foreach (var secret in root.Descendants(EncryptedSecret).Where(OursToOpen))
            {
                try { masterKey.Open(secret.Elements().Single()); }
                catch (CryptographicException e)
                {
                    throw new MasterKeyException($"The data-protection key {file} cannot be decrypted: {e.Message}. " +
                        $"Give the master key it was encrypted with ({MasterKey.Setting} or {MasterKey.FileSetting}); without it the invitation links kept " +
                        "for e-mails cannot be read back.");
                }
            }
            // Written by an earlier version without an encryptor: the same wrapping data protection itself gives an encrypted secret.
            var plain = root.Descendants().Where(e => (bool?)e.Attribute(RequiresEncryption) == true).ToList();
            foreach (var secret in plain)
                secret.ReplaceWith(new XElement(EncryptedSecret,
                    new XAttribute("decryptorType", typeof(MasterKeyXmlDecryptor).AssemblyQualifiedName!),
                    masterKey.Seal(secret)));
            if (plain.Count > 0)
            {
                OwnerOnly.WriteFile(file, root.ToString());
                sealedCount++;
            }
            OwnerOnly.Tighten(file);
        }
        return new KeyRingFolder(folder, sealedCount);
    }
}
