// The only importer of CLibSSH2: sessions, channels, SFTP and known_hosts live here.
import CLibSSH2
