# Part of Bawaba. See LICENSE file for full copyright and licensing details.

from . import main
